"""Errors: type, message (received value, did-you-mean, valid choices) and "nothing touched".

Every failing call is made on a tensor filled with a sentinel; afterwards the tensor must be
bitwise unchanged and torch's global RNG state identical (``torch.get_rng_state()``).
Expected names and messages come from the issue's contract and the reference §2.2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import kerasinit
from kerasinit import layouts

CANONICAL = ["constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
             "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal",
             "random_uniform", "stft", "truncated_normal", "variance_scaling", "zeros"]
SENTINEL = 7.25


def sentinel(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    t = torch.empty(shape, dtype=dtype)
    t.fill_(True if dtype == torch.bool else SENTINEL)
    return t


def assert_untouched(call: Callable[[], object], tensor: torch.Tensor,
                     error: type[Exception] = kerasinit.KerasInitError, match: str | None = None
                     ) -> pytest.ExceptionInfo[Exception]:
    before = tensor.clone()
    rng = torch.get_rng_state()
    with pytest.raises(error, match=match) as info:
        call()
    assert torch.equal(tensor, before), "the tensor was written before the error"
    assert torch.equal(torch.get_rng_state(), rng), "the global RNG was consumed"
    assert isinstance(info.value, ValueError)
    return info


# -- unknown names ---------------------------------------------------------------------------
@pytest.mark.parametrize("received,suggestion", [
    ("xavier_uniform", "glorot_uniform"),
    ("xavier_normal", "glorot_normal"),
    ("kaiming_normal", "he_normal"),
    ("kaiming_uniform", "he_uniform"),
    ("he_normall", "he_normal"),
    ("glorot_unifrom", "glorot_uniform"),
    ("GLOROT_UNIFORM", "glorot_uniform"),
    ("trunc_normal", "truncated_normal"),
    ("xavier_uniform_", "glorot_uniform"),
])
def test_unknown_name_message(received: str, suggestion: str) -> None:
    with pytest.raises(kerasinit.UnknownInitializerError) as info:
        kerasinit.get(received)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, kerasinit.KerasInitError)
    text = str(err)
    assert repr(received) in text
    assert f"Did you mean '{suggestion}'" in text
    assert all(repr(name) in text for name in CANONICAL)
    # the same through a config dict and a JSON string
    with pytest.raises(kerasinit.UnknownInitializerError, match=suggestion):
        kerasinit.get({"class_name": received, "config": {}})


def test_unknown_name_without_close_match_still_lists_names() -> None:
    with pytest.raises(kerasinit.UnknownInitializerError) as info:
        kerasinit.get("qqqqzzzz")
    assert "'qqqqzzzz'" in str(info.value) and "Did you mean" not in str(info.value)
    assert all(repr(name) in str(info.value) for name in CANONICAL)


def test_refused_base_class_and_uninterpretable_objects() -> None:
    with pytest.raises(kerasinit.UnsupportedInitializerError, match="Initializer"):
        kerasinit.get("Initializer")
    with pytest.raises(kerasinit.UnknownInitializerError, match="float"):
        kerasinit.get(3.5)
    with pytest.raises(kerasinit.KerasInitError, match="None"):
        kerasinit.get(None)
    with pytest.raises(kerasinit.KerasInitError, match="JSON"):
        kerasinit.get('{"class_name": "HeNormal", ')
    with pytest.raises(kerasinit.KerasInitError, match="class_name"):
        kerasinit.get({"config": {}})
    with pytest.raises(kerasinit.KerasInitError, match="class_name"):
        kerasinit.get({"class_name": 3})
    with pytest.raises(kerasinit.KerasInitError, match="must be a dict"):
        kerasinit.get({"class_name": "HeNormal", "config": [1]})


def test_stft_before_keras_3_7_is_refused() -> None:
    with pytest.raises(kerasinit.UnsupportedInitializerError, match=r"3\.7"):
        kerasinit.get("stft", keras_version="3.6")
    with pytest.raises(kerasinit.UnsupportedInitializerError):
        kerasinit.get("STFT", keras_version="2")


# -- bad arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("config,match", [
    ({"mode": "FAN_IN"}, "'fan_in'"),
    ({"mode": "fan_sum"}, "mode"),
    ({"distribution": "gaussian"}, "distribution"),
    ({"distribution": None}, "distribution"),
    ({"scale": -1.0}, "positive"),
    ({"scale": 0.0}, "positive"),
    ({"scale": "2"}, "real number"),
    ({"scale": 10**400}, "float64 range"),  # NaN and inf pass, as in Keras (reliability.md)
    ({"seed": 1.5}, "seed"),
    ({"seed": "abc"}, "seed"),
    ({"seed": True}, "seed"),
    ({"input_axes": "a"}, "input_axes"),
    ({"sclae": 2.0}, "Did you mean 'scale'"),
])
def test_bad_variance_scaling_arguments(config: dict[str, Any], match: str) -> None:
    with pytest.raises(kerasinit.InitializerArgumentError, match=match) as info:
        kerasinit.get({"class_name": "VarianceScaling", "config": config})
    bad = next(iter(config.values()))
    assert repr(bad)[:20] in str(info.value) or repr(next(iter(config))) in str(info.value)


def test_bad_arguments_in_functional_form_touch_nothing() -> None:
    w = sentinel(4, 5)
    assert_untouched(lambda: kerasinit.variance_scaling_(w, scale=-2.0), w, match="scale")
    assert_untouched(lambda: kerasinit.variance_scaling_(w, mode="fan_sum"), w, match="fan_sum")
    assert_untouched(lambda: kerasinit.variance_scaling_(w, distribution="gauss"), w,
                     match="gauss")
    assert_untouched(lambda: kerasinit.random_normal_(w, stddev="x"), w, match="stddev")
    assert_untouched(lambda: kerasinit.stft_(sentinel(3, 1, 4), side="both"), w, match="side")
    assert_untouched(lambda: kerasinit.constant_(w, value="abc"), w, match="value")


@pytest.mark.parametrize("config,match", [
    ({"class_name": "RandomNormal", "config": {"stdev": 1.0}}, "Did you mean 'stddev'"),
    ({"class_name": "Orthogonal", "config": {"gain": "big"}}, "gain"),
    ({"class_name": "Identity", "config": {"seed": 1}}, "seed"),
    ({"class_name": "Constant", "config": {"value": [1.0, "a"]}}, "value|number"),
    ({"class_name": "STFT", "config": {"scaling": "energy"}}, "scaling"),
    ({"class_name": "STFT", "config": {"periodic": 1}}, "periodic"),
    ({"class_name": "STFT", "config": {"window": 3}}, "window"),
    ({"class_name": "RandomUniform", "config": {"seed": {"class_name": "Foo"}}}, "SeedGenerator"),
])
def test_bad_config_values(config: dict[str, Any], match: str) -> None:
    with pytest.raises(kerasinit.InitializerArgumentError, match=match):
        kerasinit.get(config)


def test_seed_for_deterministic_initializer_and_bad_rng() -> None:
    with pytest.raises(kerasinit.InitializerArgumentError, match="seed"):
        kerasinit.get("zeros", seed=1)
    with pytest.raises(kerasinit.InitializerArgumentError, match="'numpy'"):
        kerasinit.get("he_normal", rng="numpy")
    with pytest.raises(kerasinit.InitializerArgumentError, match="needs a seed"):
        kerasinit.get("he_normal", rng="tensorflow")
    w = sentinel(3, 3)
    init = kerasinit.get("he_normal", seed=1)
    assert_untouched(lambda: init(w, rng="jax-0.6"), w, match="'jax-0.6'")


@pytest.mark.parametrize("version", ["4", "0", "x", "v3", "3..1", "", 4, True, (3, "1"), 2.5j])
def test_bad_keras_version(version: Any) -> None:
    with pytest.raises(kerasinit.UnsupportedVersionError) as info:
        kerasinit.get("he_normal", keras_version=version)
    assert repr(version) in str(info.value) and "'3.14'" in str(info.value)
    w = sentinel(2, 2)
    assert_untouched(lambda: kerasinit.he_normal_(w, keras_version=version), w,
                     kerasinit.UnsupportedVersionError)


# -- tensors, layouts and fans: raised before the tensor is touched ---------------------------
RANDOM = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
          "lecun_normal", "variance_scaling", "random_normal", "random_uniform",
          "truncated_normal", "orthogonal"]


@pytest.mark.parametrize("name", [*RANDOM, "identity", "stft"])
@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8, torch.bool,
                                   torch.complex64])
def test_non_float_tensor_for_sampling_initializers(name: str, dtype: torch.dtype) -> None:
    shape = (5, 1, 8) if name == "stft" else (4, 4)
    w = sentinel(*shape, dtype=dtype)
    for seed in (None, 3) if name in RANDOM else (None,):
        init = kerasinit.get(name, seed=seed)
        info = assert_untouched(lambda init=init: init(w), w, kerasinit.LayoutError)  # type: ignore[misc]
        assert str(dtype) in str(info.value)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8, torch.bool])
def test_constants_allow_integer_and_bool_tensors(dtype: torch.dtype) -> None:
    assert kerasinit.get("ones")(torch.zeros(2, 3, dtype=dtype)).tolist() == [[1] * 3] * 2
    assert kerasinit.get("zero")(torch.ones(2, dtype=dtype)).tolist() == [0, 0]
    c = kerasinit.get({"class_name": "Constant", "config": {"value": 1.0}})(
        torch.zeros(3, dtype=dtype))
    assert c.tolist() == [1, 1, 1]


@pytest.mark.parametrize("shape", [(), (4,), (2, 3, 4), (2, 2, 2, 2)])
def test_identity_needs_two_dims(shape: tuple[int, ...]) -> None:
    w = sentinel(*shape)
    info = assert_untouched(lambda: kerasinit.get("identity")(w), w, kerasinit.LayoutError)
    assert "2-D" in str(info.value)
    assert_untouched(lambda: kerasinit.identity_(w, gain=2.0), w, kerasinit.LayoutError)


@pytest.mark.parametrize("shape", [(), (7,)])
def test_orthogonal_needs_rank_two(shape: tuple[int, ...]) -> None:
    w = sentinel(*shape)
    assert_untouched(lambda: kerasinit.get("orthogonal", seed=1)(w), w, kerasinit.LayoutError,
                     match="rank >= 2")


@pytest.mark.parametrize("fans", [(-1, 4), (4, -0.5), (4,), (1, 2, 3), "ab", ("a", 1),
                                  (float("nan"), 1), (float("inf"), 1), (True, 1), [1, None],
                                  {"fan_in": 1}])
def test_bad_fans(fans: Any) -> None:
    w = sentinel(4, 5)
    for name in ("he_normal", "glorot_uniform", "orthogonal"):
        info = assert_untouched(lambda name=name: kerasinit.get(name)(w, fans=fans), w,  # type: ignore[misc]
                                kerasinit.LayoutError, match="fans")
        assert repr(fans) in str(info.value)
    with pytest.raises(kerasinit.LayoutError, match="fans"):
        kerasinit.describe("he_normal", (4, 5), fans=fans)


def test_zero_fans_are_allowed_and_clamped_like_keras() -> None:
    """Keras divides by max(1, n): fans (0, 0) give s = scale (he_uniform limit sqrt(6))."""
    r = kerasinit.describe("he_uniform", (4, 5), fans=(0, 0))
    assert r.distribution.high == pytest.approx(6 ** 0.5)
    assert (r.fan_in, r.fan_out, r.fan_source) == (0.0, 0.0, "override")


@pytest.mark.parametrize("layout,match", [
    ("tourch", "Did you mean 'torch'"),
    ("embeding", "Did you mean 'embedding'"),
    ("kera", "Did you mean 'keras'"),
    ("zzz", "Valid layouts"),
    (3, "layout"),
])
def test_bad_layout_names(layout: Any, match: str) -> None:
    w = sentinel(4, 5)
    info = assert_untouched(lambda: kerasinit.get("he_normal")(w, layout=layout), w,
                            kerasinit.LayoutError, match=match)
    assert repr(layout) in str(info.value)
    assert "'torch'" in str(info.value)


@pytest.mark.parametrize("layout,shape", [
    ("embedding", (2, 3, 4)),
    (layouts.Depthwise(2), (5, 1, 3, 3)),       # 5 not divisible by the multiplier
    (layouts.Depthwise(1), (4, 2, 3, 3)),       # dim 1 must be 1
    ("gru", (10, 4)),                           # rows not divisible by 3
    (layouts.MHAProjection(3), (8, 4)),
    (layouts.MHAOutput(3), (4, 8)),
    (layouts.mha_in_proj(2), (10, 4)),
])
def test_layout_shape_mismatch(layout: Any, shape: tuple[int, ...]) -> None:
    w = sentinel(*shape)
    for name in ("he_normal", "orthogonal", "zeros"):
        assert_untouched(lambda name=name: kerasinit.get(name, seed=None)(w, layout=layout), w,  # type: ignore[misc]
                         kerasinit.LayoutError, match=str(shape[0]))


def test_bad_depthwise_multiplier() -> None:
    for m in (0, -1, 1.5, True):
        with pytest.raises(kerasinit.LayoutError, match="depth_multiplier"):
            layouts.Depthwise(m)  # type: ignore[arg-type]


def test_constant_shape_errors_touch_nothing() -> None:
    w = sentinel(2, 3)  # Keras kernel (3, 2)
    five = kerasinit.get({"class_name": "Constant", "config": {"value": [1.0] * 5}})
    assert_untouched(lambda: five(w), w, kerasinit.LayoutError, match="broadcast")
    six_k2 = kerasinit.get({"class_name": "Constant", "config": {"value": [1.0, 2.0]}},
                           keras_version="2")
    assert_untouched(lambda: six_k2(w), w, kerasinit.LayoutError, match="reshape")
    import numpy as np

    exact = kerasinit.get(np.zeros((2, 3)))  # Keras shape (3, 2) != (2, 3)
    assert_untouched(lambda: exact(w), w, kerasinit.LayoutError, match=r"\(2, 3\)")


def test_stft_errors_touch_nothing() -> None:
    w = sentinel(5, 2, 8)  # not a Conv1d(1, F, T) weight
    assert_untouched(lambda: kerasinit.get("stft")(w), w, kerasinit.LayoutError, match="STFT")
    v = sentinel(5, 1, 8)
    win = kerasinit.get({"class_name": "STFT", "config": {"window": [1.0, 2.0]}})
    assert_untouched(lambda: win(v), v, kerasinit.LayoutError, match="frame")
    bad = kerasinit.get({"class_name": "STFT", "config": {"window": "no_such_window"}})
    assert_untouched(lambda: bad(v), v, kerasinit.KerasInitError, match="no_such_window")


def test_non_tensor_and_bad_describe_shapes() -> None:
    with pytest.raises(kerasinit.LayoutError, match="list"):
        kerasinit.get("he_normal")([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(kerasinit.LayoutError, match="shape"):
        kerasinit.describe("he_normal", (3, -1))
    with pytest.raises(kerasinit.LayoutError, match="shape"):
        kerasinit.describe("he_normal", ("a", 2))  # type: ignore[arg-type]


def test_errors_are_value_errors() -> None:
    for cls in (kerasinit.UnknownInitializerError, kerasinit.UnsupportedInitializerError,
                kerasinit.InitializerArgumentError, kerasinit.LayoutError,
                kerasinit.UnsupportedVersionError):
        assert issubclass(cls, kerasinit.KerasInitError) and issubclass(cls, ValueError)
