"""Whole-module calls validate every module first; seeded kerasinit.nn layers keep the global RNG.

``initialize``, ``keras_defaults_`` and ``Plan.apply`` plan and check every tensor before the
first write: a failure on the last module leaves all modules bit-identical and torch's global
RNG state unchanged. Every ``kerasinit.nn`` class, built with ``seed=``, neither advances the
global RNG at construction nor in ``reset_parameters()``, and two builds are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import nn as knn
from kerasinit.porting import read


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _refused_untouched(fn: Callable[[], object], model: nn.Module, match: str) -> None:
    before = _snapshot(model)
    state = torch.get_rng_state()
    with pytest.raises(kerasinit.KerasInitError, match=match):
        fn()
    after = _snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(torch.get_rng_state(), state)


def _with_bad_last(kind: str) -> nn.Sequential:
    if kind == "complex":
        last = nn.Linear(4, 4, dtype=torch.complex64)
    elif kind == "inference":
        with torch.inference_mode():
            last = nn.Linear(4, 4)
    else:  # an expanded (overlapping) view as the weight
        last = nn.Linear(4, 4)
        last.weight = nn.Parameter(torch.zeros(4, 1).expand(4, 4), requires_grad=False)
    return nn.Sequential(nn.Linear(4, 4), nn.LSTM(4, 3), nn.Conv2d(2, 4, 3), last)


@pytest.mark.parametrize("kind", ["complex", "inference", "overlap"])
def test_initialize_validates_every_module_before_writing(kind: str) -> None:
    model = _with_bad_last(kind)
    _refused_untouched(lambda: kerasinit.initialize(model, kernel_initializer="he_normal",
                                                    bias_initializer="ones"), model, "HeNormal")
    _refused_untouched(lambda: kerasinit.keras_defaults_(model), model, "GlorotUniform")
    _refused_untouched(lambda: kerasinit.keras_defaults_(model, seed=3, rng="tensorflow"),
                       model, "GlorotUniform")


def test_bad_module_level_arguments() -> None:
    model = nn.Sequential(nn.Linear(3, 2))
    for call, match in [
        (lambda: kerasinit.initialize("x", kernel_initializer="he_normal"), "nn.Module"),
        (lambda: kerasinit.keras_defaults_([model]), "nn.Module"),
        (lambda: kerasinit.initialize(model, recurse=1, kernel_initializer="ones"), "recurse"),
        (lambda: kerasinit.initialize(model, kernel_initializer="he_normal", generator=42),
         "Generator"),
        (lambda: kerasinit.initialize(model, kernel_initializer="he_normal", seed=2**64), "int64"),
        (lambda: kerasinit.keras_defaults_(model, seed=2**64), "int64"),
        (lambda: kerasinit.initialize(model, kernel_initializer="he_normal", rng="tf"), "rng"),
        (lambda: kerasinit.initialize(model, weight_initializer="he_normal"), "kernel_initializer"),
    ]:
        _refused_untouched(call, model, match)


def test_edge_seeds_work_for_every_module() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.GRU(4, 3), nn.Conv1d(2, 3, 3), nn.Embedding(5, 2))
    for seed in (2**63 - 1, -(2**63)):
        report = kerasinit.keras_defaults_(model, seed=seed, rng="tensorflow")
        assert len(report.rows) == 9  # 2 + 4 (GRU) + 2 + 1
    twice = _snapshot(model)
    kerasinit.keras_defaults_(model, seed=-(2**63), rng="tensorflow")
    assert all(torch.equal(v, _snapshot(model)[k]) for k, v in twice.items())


def test_plan_apply_validates_before_writing() -> None:
    plan = read({"class_name": "Sequential", "keras_version": "3.15.1", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
        {"class_name": "Dense", "config": {"name": "a", "units": 4}},
        {"class_name": "Dense", "config": {"name": "b", "units": 4}}]}})
    with torch.inference_mode():
        b = nn.Linear(4, 4)
    model = nn.Sequential()
    model.add_module("a", nn.Linear(4, 4))
    model.add_module("b", b)
    _refused_untouched(lambda: plan.apply(model), model, "inference_mode")
    _refused_untouched(lambda: plan.apply(nn.Sequential(), generator=7), nn.Sequential(),
                       "Generator|match")


LAYERS: dict[str, Callable[..., nn.Module]] = {
    "Linear": lambda **k: knn.Linear(4, 3, **k),
    "Embedding": lambda **k: knn.Embedding(10, 4, **k),
    "PReLU": lambda **k: knn.PReLU(**k),
    "Conv1d": lambda **k: knn.Conv1d(2, 3, 3, **k),
    "Conv2d": lambda **k: knn.Conv2d(2, 3, 3, **k),
    "Conv3d": lambda **k: knn.Conv3d(2, 3, 3, **k),
    "ConvTranspose1d": lambda **k: knn.ConvTranspose1d(2, 3, 3, **k),
    "ConvTranspose2d": lambda **k: knn.ConvTranspose2d(2, 3, 3, **k),
    "ConvTranspose3d": lambda **k: knn.ConvTranspose3d(2, 3, 3, **k),
    "DepthwiseConv1d": lambda **k: knn.DepthwiseConv1d(2, 3, **k),
    "DepthwiseConv2d": lambda **k: knn.DepthwiseConv2d(2, 3, **k),
    "SeparableConv1d": lambda **k: knn.SeparableConv1d(4, 8, 3, **k),
    "SeparableConv2d": lambda **k: knn.SeparableConv2d(4, 8, 3, **k),
    "BatchNorm1d": lambda **k: knn.BatchNorm1d(4, **k),
    "BatchNorm2d": lambda **k: knn.BatchNorm2d(4, **k),
    "BatchNorm3d": lambda **k: knn.BatchNorm3d(4, **k),
    "GroupNorm": lambda **k: knn.GroupNorm(2, 4, **k),
    "LayerNorm": lambda **k: knn.LayerNorm(4, **k),
    "RNN": lambda **k: knn.RNN(4, 3, **k),
    "LSTM": lambda **k: knn.LSTM(4, 3, **k),
    "LSTM proj_size": lambda **k: knn.LSTM(4, 3, proj_size=2, **k),
    "GRU": lambda **k: knn.GRU(4, 3, **k),
    "MultiheadAttention": lambda **k: knn.MultiheadAttention(8, 2, **k),
    "MultiheadAttention kv": lambda **k: knn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=4,
                                                                 vdim=6, **k),
}


def test_every_knn_class_is_listed() -> None:
    classes = {n for n in knn.__all__ if isinstance(getattr(knn, n), type)} - {"LayerArgumentError"}
    assert classes <= {name.split()[0] for name in LAYERS}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_seeded_knn_layers_never_touch_the_global_rng(name: str) -> None:
    make = LAYERS[name]
    state = torch.get_rng_state()
    layer = make(seed=7)
    assert torch.equal(torch.get_rng_state(), state), "construction"
    layer.reset_parameters()
    assert torch.equal(torch.get_rng_state(), state), "reset_parameters"
    again = make(seed=7)
    for (k, v), w in zip(layer.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
        if v.is_floating_point():
            assert torch.isfinite(v).all(), k  # no uninitialized storage left


@pytest.mark.parametrize("kwargs,match", [
    ({"seed": 2**64}, "int64"), ({"seed": "1"}, "seed"), ({"rng": "tf"}, "rng"),
    ({"kernel_initializer": "xavier_uniform"}, "glorot_uniform"),
    ({"keras_version": [3]}, "keras_version"),
])
def test_knn_constructor_arguments(kwargs: dict[str, Any], match: str) -> None:
    state = torch.get_rng_state()
    with pytest.raises(kerasinit.KerasInitError, match=match):
        knn.Linear(4, 3, **kwargs)
    assert torch.equal(torch.get_rng_state(), state)


_PARAMETRIZED = {
    "weight_norm": lambda: torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(4, 3)),
    "spectral_norm": lambda: torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(4, 3)),
    "orthogonal": lambda: torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(4, 4)),
    "old weight_norm": lambda: torch.nn.utils.weight_norm(torch.nn.Linear(4, 3)),
}


@pytest.mark.parametrize("kind", sorted(_PARAMETRIZED))
def test_parametrized_weights_are_refused_not_silently_lost(kind: str) -> None:
    """A parametrization recomputes ``weight`` on access (the old hooks before each forward): a
    write would be lost, so it is refused, before anything is read or written (spectral_norm's
    power-iteration buffers stay as they were too)."""
    with torch.no_grad():
        model = torch.nn.Sequential(torch.nn.Linear(4, 4), _PARAMETRIZED[kind]())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.get_rng_state()
    for call in (lambda: kerasinit.keras_defaults_(model, seed=1),
                 lambda: kerasinit.initialize(model, kernel_initializer="he_normal")):
        with pytest.raises(kerasinit.LayoutError, match=r"1\.weight is recomputed by"):
            call()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert torch.equal(state, torch.get_rng_state())
