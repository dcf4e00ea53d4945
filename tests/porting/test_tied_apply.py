"""``plan.apply`` on a torch model whose output layer is tied to its embedding.

Keras Embedding + Dense paired with ``nn.Embedding`` + ``nn.Linear`` sharing one Parameter:
same distribution -> written once by the embedding (its draw, not the Dense's), with a
``TiedWeightWarning``; different distributions -> ``TiedWeightError``, nothing written.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kerasinit.modules.tied import TiedWeightError, TiedWeightWarning
from kerasinit.porting import read


def _plan(dense_init: dict[str, object]):
    uniform = {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05}}
    return read({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Embedding", "config": {"name": "emb", "input_dim": 10, "output_dim": 4,
                                               "embeddings_initializer": uniform},
         "build_config": {"input_shape": [None, 5]}},
        {"class_name": "Dense", "config": {"name": "head", "units": 10, "use_bias": False,
                                           "kernel_initializer": dense_init}}]}})


def _model(tie: bool) -> nn.Sequential:
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    if tie:
        model[1].weight = model[0].weight
    return model


def test_tied_pair_written_once() -> None:
    plan = _plan({"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05}})
    tied, untied = _model(True), _model(False)
    with pytest.warns(TiedWeightWarning, match=r"0.weight is tied to 1.weight"):
        report = plan.apply(tied, generator=torch.Generator().manual_seed(0))
    assert report.ok, report.problems
    plan.apply(untied, generator=torch.Generator().manual_seed(0))
    assert torch.equal(tied[0].weight, untied[0].weight)
    assert not torch.equal(tied[0].weight, untied[1].weight)


def test_tied_pair_with_different_initializers_writes_nothing() -> None:
    plan = _plan({"class_name": "GlorotUniform", "config": {}})
    model = _model(True)
    before = model[0].weight.detach().clone()
    with pytest.raises(TiedWeightError, match=r"0.weight and 1.weight"):
        plan.apply(model, generator=torch.Generator().manual_seed(0))
    assert torch.equal(model[0].weight, before)
