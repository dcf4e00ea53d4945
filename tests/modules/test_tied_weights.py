"""Tied weights (one Parameter shared by two modules) are written once, never twice.

An embedding tied to the output projection (``head.weight = emb.weight``) is reached by
``initialize``/``keras_defaults_`` under both names. Owners that agree (same distribution
after the fans): one write, by the first owner (module order, as Keras's one variable is
created by its owner), and a ``TiedWeightWarning``. Owners that disagree: a
``TiedWeightError`` before anything is written, the tensor and the global RNG untouched.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import KerasInitError
from kerasinit.modules.tied import TiedWeightError, TiedWeightWarning


class Tied(nn.Module):
    def __init__(self, tie: bool = True) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.head = nn.Linear(4, 10, bias=False)
        if tie:
            self.head.weight = self.emb.weight


def test_disagreeing_owners_raise_before_any_write() -> None:
    model = Tied()
    before = model.emb.weight.detach().clone()
    state = torch.get_rng_state()
    with pytest.raises(TiedWeightError, match=r"emb.weight and head.weight.*U\[-0.05, 0.05\)"):
        kerasinit.keras_defaults_(model)   # Embedding U[-0.05, 0.05) vs Dense glorot_uniform
    with pytest.raises(KerasInitError, match="tied"):
        kerasinit.initialize(model, embeddings_initializer="he_uniform",
                             kernel_initializer="zeros")
    assert torch.equal(model.emb.weight, before)
    assert torch.equal(torch.get_rng_state(), state)


def test_agreeing_owners_write_once_and_warn() -> None:
    model, untied = Tied(), Tied(tie=False)
    kwargs = {"embeddings_initializer": "glorot_uniform", "kernel_initializer": "glorot_uniform"}
    with pytest.warns(TiedWeightWarning, match=r"emb.weight is tied to head.weight"):
        kerasinit.initialize(model, generator=torch.Generator().manual_seed(0), **kwargs)
    kerasinit.initialize(untied, generator=torch.Generator().manual_seed(0), **kwargs)
    # one draw, the embedding's: written twice, the tensor would hold the second (head) draw
    assert torch.equal(model.emb.weight, untied.emb.weight)
    assert not torch.equal(model.emb.weight, untied.head.weight)


def test_seeded_tied_weight_is_the_first_owners() -> None:
    """A whole-model seed gives each module its own seed; the tied tensor gets the first's."""
    model, untied = Tied(), Tied(tie=False)
    kwargs = {"embeddings_initializer": "glorot_uniform", "kernel_initializer": "glorot_uniform",
              "seed": 3, "rng": "tensorflow"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TiedWeightWarning)
        kerasinit.initialize(model, **kwargs)
    kerasinit.initialize(untied, **kwargs)
    assert torch.equal(model.emb.weight, untied.emb.weight)


def test_untied_models_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", TiedWeightWarning)
        kerasinit.keras_defaults_(Tied(tie=False))


def test_empty_tensors_are_not_tied() -> None:
    """Zero-size weight and bias share the null pointer: not a tie (nothing is written)."""
    norm = nn.BatchNorm1d(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TiedWeightWarning)
        kerasinit.keras_defaults_(norm)
