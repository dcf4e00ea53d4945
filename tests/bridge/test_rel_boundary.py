"""The tensor-level validation boundary: refused calls touch nothing; Keras-accepted values match.

Each refused case checks the three promises at once: a ``KerasInitError`` (never a raw torch or
Python error), the tensor bit-identical, torch's global RNG state unchanged. Accepted extreme
parameters are compared with Keras 3.15.1 on TensorFlow (values recorded from
``keras.initializers.X(..., seed=1)((2, 3))``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

import kerasinit
from kerasinit import layouts


def refused(fn: Callable[[], object], tensor: torch.Tensor | None = None,
            match: str | None = None) -> kerasinit.KerasInitError:
    before = None if tensor is None else tensor.detach().clone()
    state = torch.get_rng_state()
    with pytest.raises(kerasinit.KerasInitError, match=match) as info:
        fn()
    if tensor is not None and before is not None:
        assert torch.equal(tensor.detach(), before) or (
            tensor.is_floating_point() and torch.equal(tensor.isnan(), before.isnan()))
    assert torch.equal(torch.get_rng_state(), state)
    return info.value


def test_tensor_kinds_that_cannot_be_written_in_place() -> None:
    init = kerasinit.get("he_normal")
    with torch.inference_mode():
        inf_t = torch.zeros(4, 4)
    refused(lambda: init(inf_t), inf_t, "inference_mode")
    base = torch.zeros(4, 1)
    refused(lambda: init(base.expand(4, 4)), base, "share memory")
    flat = torch.zeros(16)
    refused(lambda: init(flat.as_strided((4, 4), (1, 1))), flat, "share memory")
    refused(lambda: init(torch.zeros(4, 4).to_sparse()), None, "sparse")
    refused(lambda: init(torch.zeros(4, 4, dtype=torch.complex64)), None, "complex64")
    refused(lambda: init(torch.zeros(4, 4, dtype=torch.int8)), None, "int8")
    refused(lambda: init([[0.0] * 4] * 4), None, "torch.Tensor")  # type: ignore[arg-type]
    with torch.inference_mode():  # inside inference mode it is allowed
        assert init(inf_t) is inf_t
    # ordinary non-contiguous views are fine and filled exactly once
    w = torch.zeros(6, 8)
    init(w.t()[1:, ::2], generator=torch.Generator().manual_seed(0))
    assert (w[::2, 1:] != 0).all() and (w[1::2] == 0).all()


def test_requires_grad_leaf_and_meta_tensors() -> None:
    p = torch.nn.Parameter(torch.zeros(4, 4))
    out = kerasinit.get("glorot_uniform", seed=1)(p)
    assert out is p and p.requires_grad and p.grad_fn is None and (p != 0).all()
    state = torch.get_rng_state()
    m = torch.empty(4, 4, device="meta")
    assert kerasinit.get("glorot_uniform")(m) is m
    assert torch.equal(torch.get_rng_state(), state)  # a meta tensor draws nothing


@pytest.mark.parametrize("kwargs,match", [
    ({"generator": 42}, "torch.Generator"),
    ({"fans": (1, math.nan)}, "fans"),
    ({"layout": 5}, "layout"),
    ({"layout": "tourch"}, "Did you mean 'torch'"),
    ({"rng": "tensorflw"}, "Unknown rng"),
    ({"rng": ["torch"]}, "Unknown rng"),
])
def test_bad_call_keywords_touch_nothing(kwargs: dict[str, Any], match: str) -> None:
    w = torch.full((4, 4), 3.0)
    refused(lambda: kerasinit.get("he_uniform")(w, **kwargs), w, match)


def test_bad_layout_objects() -> None:
    for bad in (lambda: layouts.MHAProjection(-1), lambda: layouts.MHAOutput(0),
                lambda: layouts.Depthwise(True), lambda: layouts.Packed(()),
                lambda: layouts.MHAProjection(2.5)):  # type: ignore[arg-type]
        refused(bad)


@pytest.mark.parametrize("shape", [(3.5, 2), (-1, 2), (True, 2), "ab", 5, [None], (2,) * 65])
def test_describe_refuses_non_int_shapes(shape: Any) -> None:
    refused(lambda: kerasinit.describe("he_normal", shape), None, "shape")


@pytest.mark.parametrize("seed", [2**64, 2**63, -(2**63) - 1, 10**30])
def test_seeds_outside_int64_are_refused_as_keras_refuses_them(seed: int) -> None:
    refused(lambda: kerasinit.get("he_normal", seed=seed), None, "int64")
    refused(lambda: kerasinit.he_normal_(torch.zeros(2, 2), seed=seed), None, "int64")
    sg = {"class_name": "RandomNormal", "config": {
        "seed": {"class_name": "SeedGenerator", "config": {"seed": seed}}}}
    refused(lambda: kerasinit.get(sg), None, "int64")


@pytest.mark.parametrize("rng", ["torch", "tensorflow", "keras-torch"])
def test_int64_edge_seeds_work_for_every_rng(rng: str) -> None:
    for seed in (2**63 - 1, -(2**63)):
        w = torch.zeros(3, 4)
        kerasinit.get("glorot_uniform", seed=seed, rng=rng)(w)
        assert (w != 0).all()


@pytest.mark.parametrize("identifier,match", [
    ({"class_name": "RandomNormal", "config": {1: 2}}, "keys must be strings"),
    ({"class_name": "RandomNormal", "config": {"seed": {"class_name": "SeedGenerator",
                                                         "config": [1]}}}, "SeedGenerator"),
    ({"class_name": "Constant", "config": {"value": [[1, 2], [3]]}}, "ragged"),
    ({"class_name": "VarianceScaling", "config": {"scale": 10**400}}, "float64 range"),
    ({"class_name": ["HeNormal"]}, "class_name"),
    ({"class_name": "HeNormal", "config": [1]}, "config"),
    ('{"class_name": "Constant", "config": {"value": ' + "[" * 100_000 + "]" * 100_000 + "}}",
     "nested"),
    ('{"class_name": "HeNormal", "config": {"seed": ' + "9" * 5000 + "}}", "JSON"),
    ("x" * 100_000, "Unknown"),
])
def test_bad_identifiers_raise_keras_init_errors(identifier: Any, match: str) -> None:
    err = refused(lambda: kerasinit.get(identifier), None, match)
    assert len(str(err)) < 1500  # the received value is quoted, cut to a sane length


def test_deeply_nested_constant_value_is_a_clean_error() -> None:
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    refused(lambda: kerasinit.get({"class_name": "Constant", "config": {"value": value}}),
            None, "nested deeper")
    refused(lambda: kerasinit.constant_(torch.zeros(2), value), None, "nested deeper")


@pytest.mark.parametrize("version", [[3], {"major": 3}, "3" * 1000, 10**100, object()])
def test_bad_keras_versions(version: Any) -> None:
    refused(lambda: kerasinit.get("he_normal", keras_version=version), None, "keras_version")


# -- what Keras accepts, kerasinit mirrors ---------------------------------------------------
KERAS_TF_SEED1 = [  # config, Keras 3.15.1 (TF) values of ((2, 3)) with seed=1, first three
    ({"class_name": "RandomNormal", "config": {"stddev": -1.0}},
     [-0.1266503, 0.49301657, -0.6311907]),
    ({"class_name": "TruncatedNormal", "config": {"stddev": -1.0}},
     [-0.1266503, 0.49301657, -0.6311907]),
    ({"class_name": "TruncatedNormal", "config": {"mean": 1e308}}, [math.inf] * 3),
    ({"class_name": "TruncatedNormal", "config": {"stddev": 1e308}}, [math.inf, -math.inf, math.inf]),
    ({"class_name": "RandomNormal", "config": {"stddev": 1e39}}, [math.inf, -math.inf, math.inf]),
    ({"class_name": "RandomNormal", "config": {"mean": math.inf}}, [math.inf] * 3),
    ({"class_name": "RandomUniform", "config": {"minval": -3e38, "maxval": 3e38}}, [math.inf] * 3),
    ({"class_name": "VarianceScaling", "config": {"scale": 1e300}}, [math.inf, -math.inf, math.inf]),
    ({"class_name": "VarianceScaling", "config": {"scale": math.inf}},
     [math.inf, -math.inf, math.inf]),
    ({"class_name": "TruncatedNormal", "config": {"stddev": 1e-17}},
     [1.2665031e-18, -4.9301656e-18, 6.3119071e-18]),
    ({"class_name": "Orthogonal", "config": {"gain": -1.0}}, [-0.14748561, -0.7350282, -0.6618017]),
]


@pytest.mark.parametrize("config,expected", KERAS_TF_SEED1)
def test_keras_accepted_extremes_give_keras_values(config: dict[str, Any],
                                                   expected: list[float]) -> None:
    w = torch.zeros(2, 3)
    kerasinit.get(config, seed=1, rng="tensorflow")(w, layout="keras")
    got = w.ravel()[:3].tolist()
    for g, e in zip(got, expected, strict=True):
        assert g == e or (math.isfinite(e) and math.isclose(g, e, rel_tol=1e-6)), (got, expected)


@pytest.mark.parametrize("rng", ["torch", "tensorflow", "keras-torch"])
def test_nan_and_overflowing_parameters_never_raise_after_writing(rng: str) -> None:
    for config in ({"class_name": "RandomNormal", "config": {"mean": math.nan}},
                   {"class_name": "VarianceScaling", "config": {"scale": math.nan}},
                   {"class_name": "TruncatedNormal", "config": {"mean": 1e308}},
                   {"class_name": "RandomUniform", "config": {"minval": -3e38, "maxval": 3e38}}):
        for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
            w = torch.zeros(4, 4, dtype=dtype)
            kerasinit.get(config, seed=3, rng=rng)(w)
            if dtype != torch.float64 or "nan" in repr(config):
                assert not torch.isfinite(w).all()  # NaN / inf, as Keras gives


def test_constants_cast_as_keras_casts_them() -> None:
    i8 = kerasinit.constant_(torch.zeros(2, 3, dtype=torch.int8), 1000)
    assert i8.tolist() == [[-24] * 3] * 2           # Keras: Constant(1000)((2, 3), "int8")
    h = kerasinit.constant_(torch.zeros(2, dtype=torch.float16), 1e6)
    assert torch.isinf(h).all()                     # Keras: inf in float16
    b = kerasinit.constant_(torch.zeros(2, dtype=torch.bool), 0.5)
    assert b.all()
    arr = kerasinit.constant_(torch.zeros(2, 2, dtype=torch.int32), [[1.7, -1.7], [3.0, 0.0]],
                              layout="keras")
    assert arr.tolist() == [[1, -1], [3, 0]]        # truncation toward zero
    for bad in (math.nan, math.inf, 1e19, 1e39):
        t = torch.zeros(2, dtype=torch.int32)
        refused(lambda bad=bad, t=t: kerasinit.constant_(t, bad), t)  # type: ignore[misc]
    f = torch.zeros(2)
    refused(lambda: kerasinit.constant_(f, 1e39), f, "float32 range")  # Keras refuses too


def test_rng_specific_refusals() -> None:
    w = torch.zeros(3, 3)
    refused(lambda: kerasinit.get({"class_name": "RandomNormal", "config": {"stddev": -1.0}},
                                  seed=1, rng="keras-torch")(w), w, "torch.normal")
    refused(lambda: kerasinit.get({"class_name": "RandomUniform",
                                   "config": {"minval": 0, "maxval": 1e39}},
                                  seed=1, rng="tensorflow")(w), w, "float32 range")
    refused(lambda: kerasinit.get("he_normal", seed=1, rng="tensorflow",
                                  keras_version="1")(w), w, "TF1")
    refused(lambda: kerasinit.get("he_normal", seed=1, rng="tensorflow")(
        w, generator=torch.Generator()), w, "generator")


@pytest.mark.parametrize(("axes", "match"), [
    ({"input_axes": 0, "output_axes": [1]}, "input_axes.*list of ints.*not iterable"),
    ({"input_axes": [0], "output_axes": 1}, "output_axes.*list of ints"),
    ({"input_axes": [0.0], "output_axes": [1]}, "input_axes"),
    ({"input_axes": "0", "output_axes": [1]}, "input_axes"),
    ({"input_axes": [True], "output_axes": [1]}, "input_axes"),
    ({"input_axes": [5], "output_axes": [1]}, "out of range"),
])
def test_einsum_axes_are_refused_where_keras_refuses_them(axes: dict[str, Any],
                                                          match: str) -> None:
    """Keras 3.15.1 iterates over both axes only when both are given: a bare int there is
    ``TypeError: 'int' object is not iterable`` (an out-of-range axis an IndexError)."""
    config = {"class_name": "GlorotUniform", "config": axes}
    t = torch.zeros(4, 3)
    refused(lambda: kerasinit.get(config)(t), t, match)
    refused(lambda: kerasinit.glorot_uniform_(t, seed=1, **axes), t, match)
    refused(lambda: kerasinit.describe(config, (4, 3)), None, match)


@pytest.mark.parametrize("axes", [{"input_axes": 0}, {"output_axes": 7},
                                  {"input_axes": 0, "output_axes": None}])
def test_a_lone_axis_is_ignored_as_keras_ignores_it(axes: dict[str, Any]) -> None:
    """Without the other axes Keras never reads them (EinsumDense replaces both)."""
    plain = kerasinit.describe("glorot_uniform", (4, 3))
    assert kerasinit.describe({"class_name": "GlorotUniform", "config": axes}, (4, 3)) \
        .distribution == plain.distribution


def test_numpy_axes_are_accepted_as_keras_accepts_any_iterable() -> None:
    import numpy as np

    got = kerasinit.describe({"class_name": "GlorotUniform", "config": {
        "input_axes": np.array([0]), "output_axes": np.array([1, 2])}}, (8, 2, 4), layout="keras")
    assert (got.fan_in, got.fan_out) == (8.0, 8.0)
