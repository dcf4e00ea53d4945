"""Functional API: one ``kerasinit.<name>_`` per canonical row, Keras's parameters, same values.

The expected Keras 3.15 signatures are written out from reference §2.1 (and, where Keras is
installed, also read from the live ``keras.initializers.<Class>.__init__`` with
``inspect.signature``). The torch-side keywords ``layout``, ``fans``, ``generator`` and
``keras_version`` are kerasinit's own and are not compared.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import pytest
import torch

import kerasinit
from kerasinit.mappings.table import ROWS

TORCH_SIDE = {"layout", "fans", "generator", "keras_version"}
_AXES = (("seed", None), ("input_axes", None), ("output_axes", None))
#: reference §2.1, Keras 3.15.1 column: (parameter, default) in Keras's order
KERAS3_SIGNATURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "zeros": (), "ones": (),
    "constant": (("value", 0.0),),
    "random_normal": (("mean", 0.0), ("stddev", 0.05), ("seed", None)),
    "random_uniform": (("minval", -0.05), ("maxval", 0.05), ("seed", None)),
    "truncated_normal": (("mean", 0.0), ("stddev", 0.05), ("seed", None)),
    "variance_scaling": (("scale", 1.0), ("mode", "fan_in"), ("distribution", "truncated_normal"),
                         *_AXES),
    **{name: _AXES for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                "lecun_uniform", "lecun_normal")},
    "orthogonal": (("gain", 1.0), ("seed", None)),
    "identity": (("gain", 1.0),),
    "stft": (("side", "real"), ("window", "hann"), ("scaling", "density"), ("periodic", False)),
}
CLASS = {"constant": "Constant", "zeros": "Zeros", "ones": "Ones", "identity": "Identity",
         "stft": "STFT", "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
         "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
         "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
         "he_uniform": "HeUniform", "he_normal": "HeNormal", "lecun_uniform": "LecunUniform",
         "lecun_normal": "LecunNormal", "orthogonal": "Orthogonal"}
#: a tensor shape each initializer accepts (STFT: Conv1d(1, F=5, T=8); Identity: 2-D)
SHAPES = {"stft": (5, 1, 8)}


#: torch's same-meaning keywords each function also takes (docs: bridge/functional.py)
TORCH_ALIASES = {"truncated_normal": {"std", "a", "b"}, "random_normal": {"std"},
                 "random_uniform": {"a", "b"}, "constant": {"val"},
                 "glorot_uniform": {"gain"}, "glorot_normal": {"gain"}}


def keras_params(fn: Any) -> tuple[tuple[str, Any], ...]:
    params = list(inspect.signature(fn).parameters.values())[1:]  # drop the tensor
    aliases = TORCH_ALIASES.get(fn.__name__.rstrip("_"), set())
    return tuple((p.name, p.default) for p in params
                 if p.name not in TORCH_SIDE and p.name not in aliases)


def test_table_has_a_function_per_row() -> None:
    assert set(ROWS) == set(KERAS3_SIGNATURES)
    for name in ROWS:
        fn = getattr(kerasinit, f"{name}_", None)
        assert callable(fn), f"kerasinit.{name}_ is missing"


@pytest.mark.parametrize("name", sorted(KERAS3_SIGNATURES))
def test_signature_matches_keras3(name: str) -> None:
    fn = getattr(kerasinit, f"{name}_")
    assert keras_params(fn) == KERAS3_SIGNATURES[name]
    params = inspect.signature(fn).parameters
    for keyword_only in ("seed", "generator", "keras_version", "layout", "fans"):
        if keyword_only in params:
            assert params[keyword_only].kind is inspect.Parameter.KEYWORD_ONLY, keyword_only
    first = next(iter(params.values()))
    assert first.name == "tensor" and first.default is inspect.Parameter.empty


@pytest.mark.tf
def test_signature_matches_live_keras3() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    for name, cls in CLASS.items():
        init = getattr(keras.initializers, cls).__init__
        params = list(inspect.signature(init).parameters.values())[1:]
        expected = tuple((p.name, p.default) for p in params  # Zeros/Ones: object's (*a, **k)
                         if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        assert keras_params(getattr(kerasinit, f"{name}_")) == expected, name


@pytest.mark.parametrize("name", sorted(KERAS3_SIGNATURES))
def test_returns_same_tensor_and_equals_get(name: str) -> None:
    fn = getattr(kerasinit, f"{name}_")
    shape = SHAPES.get(name, (6, 10))
    takes_generator = "generator" in inspect.signature(fn).parameters
    a = torch.full(shape, 3.0)
    b = torch.full(shape, 3.0)
    if takes_generator:
        out = fn(a, generator=torch.Generator().manual_seed(4))
        kerasinit.get(name)(b, generator=torch.Generator().manual_seed(4))
    else:
        out = fn(a)
        kerasinit.get(name)(b)
    assert out is a
    assert torch.equal(a, b)
    if name not in ("zeros", "constant"):
        assert not torch.equal(a, torch.full(shape, 3.0))


def test_random_functions_take_generator_and_seed() -> None:
    for name, row in ROWS.items():
        params = inspect.signature(getattr(kerasinit, f"{name}_")).parameters
        assert ("generator" in params) == row.spec.is_random, name
        assert ("seed" in params) == row.spec.is_random, name


def test_non_default_arguments_match_get() -> None:
    g = torch.Generator
    cases: list[tuple[Any, dict[str, Any], Any]] = [
        (kerasinit.variance_scaling_, {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform"},
         {"class_name": "VarianceScaling",
          "config": {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform"}}),
        (kerasinit.random_normal_, {"mean": 1.0, "stddev": 0.3},
         {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.3}}),
        (kerasinit.truncated_normal_, {"mean": -1.0, "stddev": 2.0},
         {"class_name": "TruncatedNormal", "config": {"mean": -1.0, "stddev": 2.0}}),
        (kerasinit.random_uniform_, {"minval": 2.0, "maxval": 5.0},
         {"class_name": "RandomUniform", "config": {"minval": 2.0, "maxval": 5.0}}),
        (kerasinit.orthogonal_, {"gain": 2.0},
         {"class_name": "Orthogonal", "config": {"gain": 2.0}}),
    ]
    for fn, kwargs, cfg in cases:
        a = fn(torch.empty(7, 9), **kwargs, generator=g().manual_seed(1))
        b = kerasinit.get(cfg)(torch.empty(7, 9), generator=g().manual_seed(1))
        assert torch.equal(a, b), fn.__name__
    ident = kerasinit.identity_(torch.empty(3, 4), gain=2.0)
    assert torch.equal(ident, kerasinit.get({"class_name": "Identity",
                                             "config": {"gain": 2.0}})(torch.empty(3, 4)))


def test_layout_fans_and_version_keywords_are_forwarded() -> None:
    g = torch.Generator
    emb = kerasinit.he_uniform_(torch.empty(1000, 8), layout="embedding",
                                generator=g().manual_seed(0))
    assert emb.abs().max().item() <= (6 / 1000) ** 0.5   # fan_in = vocabulary size
    assert emb.abs().max().item() > 0.9 * (6 / 1000) ** 0.5
    fixed = kerasinit.glorot_uniform_(torch.empty(10, 10), fans=(576, 128),
                                      generator=g().manual_seed(0))
    assert fixed.abs().max().item() <= (6 / 704) ** 0.5
    old = kerasinit.he_normal_(torch.empty(200, 200), keras_version="1",
                               generator=g().manual_seed(0))
    assert old.abs().max().item() > 2.3 * (2 / 200) ** 0.5  # Keras 1: untruncated


def test_preset_axes_follow_keras_3_15() -> None:
    """``input_axes``/``output_axes`` give the fans as products over those Keras axes (§3.1)."""
    w = torch.empty(128, 64)  # MHA query projection (h*d, E) in a Keras (64, 4, 32) kernel
    out = kerasinit.glorot_uniform_(w, input_axes=[0], output_axes=[1, 2],
                                    layout=kerasinit.layouts.MHAProjection(4),
                                    keras_version="3.14", generator=torch.Generator().manual_seed(0))
    limit = (6 / (64 + 128)) ** 0.5
    assert out.abs().max().item() <= limit and out.abs().max().item() > 0.99 * limit
