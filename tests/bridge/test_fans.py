"""Exact fans and resolved parameters per layout and Keras version.

Expected values are derived here, independently, from the Keras formulas written out in
``shared/reference/keras-initializers.md`` §3-§4 and ``layer-map.md`` (never from
``kerasinit.mappings.fans``), plus the numbers the reference measured on real Keras.
"""

from __future__ import annotations

import math

import pytest
import torch

import kerasinit
from kerasinit import layouts
from kerasinit.mappings import Normal, Orthogonal, TruncatedNormal, Uniform

C = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]
#: relative tolerance for *sample* stds the reference measured on real Keras (n ~ 1e4-1e5)
MEASURED = 0.01


def prod(values: tuple[int, ...]) -> int:
    return math.prod(values)


def keras_fans(kshape: tuple[int, ...], version: str) -> tuple[float, float]:
    """Reference §3.1/§3.4, written out per era (the Keras kernel layout is channels-last)."""
    r = len(kshape)
    if r == 2:
        return float(kshape[0]), float(kshape[1])
    if version in ("3", "3.14", "2", "2.2.4-tf"):  # tf.keras / tf_keras / Keras 3
        if r == 0:
            return 1.0, 1.0
        if r == 1:
            return float(kshape[0]), float(kshape[0])
        rf = prod(kshape[:-2])
        return float(kshape[-2] * rf), float(kshape[-1] * rf)
    if version == "2.0.8":  # 2.0.6-2.3.1: ranks 3-5 as today; 0, 1, >= 6 sqrt(prod)
        if r in (3, 4, 5):
            rf = prod(kshape[:-2])
            return float(kshape[-2] * rf), float(kshape[-1] * rf)
    elif version == "2.0.3":  # 2.0.0-2.0.5: ranks 3-5 rf = prod(shape[:2]) (bug)
        if r in (3, 4, 5):
            rf = prod(kshape[:2])
            return float(kshape[-2] * rf), float(kshape[-1] * rf)
    elif version == "1":  # 1.0.4-1.2.2, 'tf' ordering: ranks 4/5 rf = prod(shape[:2])
        if r in (4, 5):
            rf = prod(kshape[:2])
            return float(kshape[-2] * rf), float(kshape[-1] * rf)
    else:  # pragma: no cover
        raise AssertionError(version)
    root = math.sqrt(prod(kshape))
    return root, root


# (case id, torch shape, layout, Keras shape) -- the Keras shape written by hand (layer-map.md)
LAYOUT_CASES = [
    ("linear", (256, 784), "torch", (784, 256)),
    ("conv1d", (64, 32, 5), "torch", (5, 32, 64)),
    ("conv2d", (128, 64, 3, 3), "torch", (3, 3, 64, 128)),
    ("conv3d", (32, 16, 3, 3, 3), "torch", (3, 3, 3, 16, 32)),
    ("conv_transpose2d", (128, 64, 4, 4), "torch", (4, 4, 64, 128)),
    ("bias", (7,), "torch", (7,)),
    ("scalar", (), "torch", ()),
    ("rank6", (2, 3, 1, 2, 2, 2), "torch", (1, 2, 2, 2, 3, 2)),
    ("keras", (3, 3, 64, 128), "keras", (3, 3, 64, 128)),
    ("embedding", (10000, 128), "embedding", (10000, 128)),
    ("depthwise_m1", (256, 1, 3, 3), layouts.Depthwise(1), (3, 3, 256, 1)),
    ("depthwise_m4", (1024, 1, 3, 3), layouts.Depthwise(4), (3, 3, 256, 4)),
    ("depthwise1d_m1", (1024, 1, 5), layouts.Depthwise(1), (5, 1024, 1)),
    ("gru_ih", (3 * 128, 64), "gru", (64, 384)),
    ("gru_hh", (3 * 128, 128), "gru", (128, 384)),
    ("lstm_hh", (4 * 128, 128), "torch", (128, 512)),
    ("mha_query", (128, 64), layouts.MHAProjection(4), (64, 4, 32)),
    ("mha_output", (64, 128), layouts.MHAOutput(4), (4, 32, 64)),
]
VERSIONS = ["3", "3.14", "2", "2.2.4-tf", "2.0.8", "2.0.3", "1"]


def einsum_fans(case: str, kshape: tuple[int, ...]) -> tuple[float, float] | None:
    """Keras >= 3.15 EinsumDense axes: query (E, h, d) in (0,), out (1, 2); output the reverse."""
    if case == "mha_query":
        return float(kshape[0]), float(kshape[1] * kshape[2])
    if case == "mha_output":
        return float(kshape[0] * kshape[1]), float(kshape[2])
    return None


def expected_fans(case: str, kshape: tuple[int, ...], version: str) -> tuple[float, float]:
    axes = einsum_fans(case, kshape)
    if axes is not None and version == "3":
        return axes
    return keras_fans(kshape, version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("case", "shape", "layout", "kshape"), LAYOUT_CASES,
                         ids=[c[0] for c in LAYOUT_CASES])
def test_fans_per_layout_and_version(case: str, shape: tuple[int, ...], layout: object,
                                     kshape: tuple[int, ...], version: str) -> None:
    r = kerasinit.describe("glorot_uniform", shape, layout=layout, keras_version=version)
    assert r.keras_shape == kshape
    assert (r.fan_in, r.fan_out) == pytest.approx(expected_fans(case, kshape, version), rel=1e-15)


def _expected_vs(name: str, fi: float, fo: float, version: str) -> tuple[type, float]:
    """(family, parameter): the uniform limit, or the normal's stddev *parameter*."""
    scale, mode, dist = {
        "glorot_uniform": (1.0, "fan_avg", "uniform"), "glorot_normal": (1.0, "fan_avg", "normal"),
        "he_uniform": (2.0, "fan_in", "uniform"), "he_normal": (2.0, "fan_in", "normal"),
        "lecun_uniform": (1.0, "fan_in", "uniform"), "lecun_normal": (1.0, "fan_in", "normal"),
    }[name]
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
    s = scale / max(1.0, n)
    if dist == "uniform":
        return Uniform, math.sqrt(3 * s)
    if version == "1" and name in ("glorot_normal", "he_normal"):
        return Normal, math.sqrt(s)  # Keras 1: untruncated
    if version in ("2.0.8", "2.0.3", "1"):
        return TruncatedNormal, math.sqrt(s)  # before Keras 2.2: no 1/C correction
    return TruncatedNormal, math.sqrt(s) / C


PRESETS = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
           "lecun_normal"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize(("case", "shape", "layout", "kshape"), LAYOUT_CASES,
                         ids=[c[0] for c in LAYOUT_CASES])
def test_resolved_parameters(case: str, shape: tuple[int, ...], layout: object,
                             kshape: tuple[int, ...], name: str, version: str) -> None:
    fi, fo = expected_fans(case, kshape, version)
    family, param = _expected_vs(name, fi, fo, version)
    d = kerasinit.describe(name, shape, layout=layout, keras_version=version).distribution
    assert type(d) is family
    if family is Uniform:
        assert (d.low, d.high) == pytest.approx((-param, param), rel=1e-13)
    elif family is Normal:
        assert (d.mean, d.std) == pytest.approx((0.0, param), rel=1e-13)
    else:
        assert (d.mean, d.std, d.low, d.high) == pytest.approx(
            (0.0, param, -2 * param, 2 * param), rel=1e-13)


# -- variance_scaling arguments, the old "normal" alias and the 1/C history --------------------
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "untruncated_normal",
                                          "uniform", "Normal", "UNIFORM"])
@pytest.mark.parametrize("version", ["3", "2", "2.2.0", "2.1.6", "2.0.8"])
def test_variance_scaling_config(mode: str, distribution: str, version: str) -> None:
    fi, fo, scale = 576.0, 1152.0, 0.7
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
    s = scale / n
    cfg = {"class_name": "VarianceScaling",
           "config": {"scale": scale, "mode": mode, "distribution": distribution, "seed": None}}
    d = kerasinit.describe(cfg, (128, 64, 3, 3), keras_version=version).distribution
    dist = distribution.lower()
    if dist == "uniform":
        assert type(d) is Uniform and d.high == pytest.approx(math.sqrt(3 * s), rel=1e-14)
    elif dist == "untruncated_normal":
        assert type(d) is Normal and d.std == pytest.approx(math.sqrt(s), rel=1e-14)
    else:
        corrected = version in ("3", "2", "2.2.0")  # the 1/C fix arrived in Keras 2.2.0
        sigma = math.sqrt(s) / C if corrected else math.sqrt(s)
        assert type(d) is TruncatedNormal
        assert (d.std, d.low, d.high) == pytest.approx((sigma, -2 * sigma, 2 * sigma), rel=1e-14)
        realised = math.sqrt(s) if corrected else C * math.sqrt(s)
        assert d.realised_std == pytest.approx(realised, rel=1e-12)


def test_fans_clamped_to_one() -> None:
    """``s = scale / max(1, n)``: zero-size and tiny kernels never divide by < 1."""
    for shape in [(0, 5), (5, 0), (0, 0), (1, 1), ()]:
        d = kerasinit.describe("he_uniform", shape).distribution
        fi = kerasinit.describe("he_uniform", shape).fan_in
        assert d.high == pytest.approx(math.sqrt(6 / max(1.0, fi)), rel=1e-15)
    assert kerasinit.describe("glorot_uniform", (0, 5)).distribution.high == pytest.approx(
        math.sqrt(3 / 2.5))


def test_fans_override_wins() -> None:
    r = kerasinit.describe("he_normal", (256, 784), fans=(100, 7), keras_version="3")
    assert (r.fan_in, r.fan_out, r.fan_source) == (100.0, 7.0, "override")
    assert r.distribution.std == pytest.approx(math.sqrt(2 / 100) / C, rel=1e-14)
    packed = kerasinit.describe("glorot_uniform", (192, 64), layout=layouts.mha_in_proj(4),
                                fans=(10, 30))
    assert isinstance(packed, tuple)
    assert all((r.fan_in, r.fan_out) == (10.0, 30.0) for r in packed)


def test_config_axes_are_used_only_when_both_given() -> None:
    """Reference §3.1: ``input_axes``/``output_axes`` only if both are set."""
    base = {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"}
    both = kerasinit.describe({"class_name": "VarianceScaling", "config": {
        **base, "input_axes": [0, 1, 2], "output_axes": [3]}}, (3, 3, 64, 128), layout="keras")
    assert (both.fan_in, both.fan_out) == (576.0, 128.0)
    assert both.fan_source == "config axes"
    one = kerasinit.describe({"class_name": "VarianceScaling", "config": {
        **base, "input_axes": [0, 1, 2]}}, (3, 3, 64, 128), layout="keras")
    assert (one.fan_in, one.fan_out) == (576.0, 1152.0)
    empty = kerasinit.describe({"class_name": "GlorotUniform", "config": {
        "input_axes": [], "output_axes": [0]}}, (5, 7), layout="keras")
    assert (empty.fan_in, empty.fan_out) == (1.0, 5.0)


# -- numbers the reference measured on real Keras (keras-initializers.md §3.1, §4.2; layer-map) --
def _limit(name: str, shape: tuple[int, ...], layout: object, version: str) -> float:
    d = kerasinit.describe(name, shape, layout=layout, keras_version=version).distribution
    return float(d.high)


def test_measured_mha_limits() -> None:
    """MHA(num_heads=4, key_dim=32) on d=64: query 0.1768 (3.15) vs 0.0510 (tf_keras);
    output 0.1768 vs 0.1250."""
    q, o = layouts.MHAProjection(4), layouts.MHAOutput(4)
    assert round(_limit("glorot_uniform", (128, 64), q, "3"), 4) == 0.1768
    assert round(_limit("glorot_uniform", (128, 64), q, "2"), 4) == 0.0510
    assert round(_limit("glorot_uniform", (128, 64), q, "3.14"), 4) == 0.0510
    assert round(_limit("glorot_uniform", (64, 128), o, "3"), 4) == 0.1768
    assert round(_limit("glorot_uniform", (64, 128), o, "2"), 4) == 0.1250
    # EinsumDense("abc,cde->abde") kernel (64, 8, 16): 0.17676 in 3.15, 0.0625 in tf_keras
    e = layouts.MHAProjection(8)
    assert round(_limit("glorot_uniform", (128, 64), e, "3"), 5) == 0.17678
    assert round(_limit("glorot_uniform", (128, 64), e, "2"), 4) == 0.0625


def test_measured_mha_packed_in_proj() -> None:
    """E=512, h=8: each (512, 512) block has Keras 3.15 fans (512, 512); tf_keras (4096, 32768).
    Keras std .0442 (3.15) / .00737 (tf_keras); naive xavier on (1536, 512): .0313."""
    layout = layouts.mha_in_proj(8)
    blocks = kerasinit.describe("glorot_uniform", (1536, 512), layout=layout, keras_version="3")
    assert isinstance(blocks, tuple) and len(blocks) == 3
    for r in blocks:
        assert r.keras_shape == (512, 8, 64)
        assert (r.fan_in, r.fan_out) == (512.0, 512.0)
        assert round(r.distribution.std, 4) == 0.0442
    old = kerasinit.describe("glorot_uniform", (1536, 512), layout=layout, keras_version="2")
    for r in old:
        assert (r.fan_in, r.fan_out) == (4096.0, 32768.0)
        assert round(r.distribution.std, 5) == 0.00737
    naive_std = math.sqrt(2 / (512 + 1536))
    assert naive_std == pytest.approx(0.0313, rel=MEASURED)
    he = kerasinit.describe("he_normal", (1536, 512), layout=layout, keras_version="2")
    assert all(round(r.distribution.realised_std, 4) == 0.0221 for r in he)


def test_measured_depthwise() -> None:
    """(3,3,256,1) -> (2304, 9); (3,3,256,4) -> (2304, 36); DepthwiseConv1D (5,1024,1) -> (5120, 5)."""
    r1 = kerasinit.describe("glorot_uniform", (256, 1, 3, 3), layout=layouts.Depthwise(1))
    assert (r1.fan_in, r1.fan_out) == (2304.0, 9.0)
    assert r1.distribution.std == pytest.approx(0.0293, rel=MEASURED)
    r4 = kerasinit.describe("glorot_uniform", (1024, 1, 3, 3), layout=layouts.Depthwise(4))
    assert (r4.fan_in, r4.fan_out) == (2304.0, 36.0)
    assert r4.distribution.std == pytest.approx(0.0293, rel=MEASURED)
    he4 = kerasinit.describe("he_normal", (1024, 1, 3, 3), layout=layouts.Depthwise(4))
    assert round(he4.distribution.realised_std, 4) == round(math.sqrt(2 / 2304), 4) == 0.0295
    r1d = kerasinit.describe("he_normal", (1024, 1, 5), layout=layouts.Depthwise(1))
    assert (r1d.fan_in, r1d.fan_out) == (5120.0, 5.0)
    assert round(r1d.distribution.realised_std, 4) == 0.0198
    # the naive torch layout gets (9, 9216) for m=4: std .0145, half of Keras's
    naive = kerasinit.describe("glorot_uniform", (1024, 1, 3, 3), layout="torch")
    assert (naive.fan_in, naive.fan_out) == (9.0, 9216.0)
    assert naive.distribution.std == pytest.approx(0.0145, rel=2 * MEASURED)


def test_measured_embedding_and_dense() -> None:
    emb = kerasinit.describe("he_normal", (10000, 128), layout="embedding")
    assert round(emb.distribution.realised_std, 4) == 0.0141
    wrong = kerasinit.describe("he_normal", (10000, 128), layout="torch")
    assert round(wrong.distribution.realised_std, 3) == 0.125
    # §4.2: (1024, 512) Keras kernel -> torch (512, 1024)
    table = {"glorot_uniform": 0.062500, "he_uniform": 0.076547, "lecun_uniform": 0.054127}
    for name, bound in table.items():
        assert round(_limit(name, (512, 1024), "torch", "3"), 6) == bound
    normals = {"glorot_normal": 0.082045, "he_normal": 0.100484, "lecun_normal": 0.071053}
    for name, bound in normals.items():
        d = kerasinit.describe(name, (512, 1024)).distribution
        assert round(d.high, 6) == bound
    conv = {"glorot_uniform": 0.041667}
    assert round(_limit("glorot_uniform", (256, 128, 3, 3), "torch", "3"), 6) == conv[
        "glorot_uniform"]
    assert round(kerasinit.describe("he_normal", (256, 128, 3, 3)).distribution.high, 6) == 0.094737
    assert round(kerasinit.describe("lecun_normal", (256, 128, 3, 3)).distribution.high,
                 6) == 0.066989
    tn = kerasinit.describe("truncated_normal", (512, 1024)).distribution
    assert round(tn.realised_std, 6) == 0.043981 and tn.high == 0.1


def test_keras1_specials() -> None:
    """Keras 1: untruncated glorot/he normal, orthogonal gain 1.1, sqrt(prod) fans at rank 3."""
    d = kerasinit.describe("glorot_normal", (256, 784), keras_version="1").distribution
    assert type(d) is Normal and d.std == pytest.approx(math.sqrt(2 / (784 + 256)), rel=1e-14)
    d = kerasinit.describe("he_normal", (256, 784), keras_version="1").distribution
    assert type(d) is Normal and d.std == pytest.approx(math.sqrt(2 / 784), rel=1e-14)
    o = kerasinit.describe("orthogonal", (8, 8), keras_version="1").distribution
    assert isinstance(o, Orthogonal) and o.gain == 1.1
    assert kerasinit.describe("orthogonal", (8, 8), keras_version="2").distribution.gain == 1.0
    r = kerasinit.describe("glorot_uniform", (64, 32, 5), keras_version="1")  # Conv1D (5, 32, 64)
    root = math.sqrt(5 * 32 * 64)
    assert (r.fan_in, r.fan_out) == pytest.approx((root, root), rel=1e-15)


def test_keras_2_0_3_conv1d_bug() -> None:
    """Keras 2.0.0-2.0.5: Conv1D kernel (k, in, out) got rf = k*in."""
    r = kerasinit.describe("glorot_uniform", (64, 32, 5), keras_version="2.0.3")
    assert (r.fan_in, r.fan_out) == (32.0 * 160, 64.0 * 160)
    r = kerasinit.describe("glorot_uniform", (64, 32, 5), keras_version="2.0.8")
    assert (r.fan_in, r.fan_out) == (160.0, 320.0)


def test_keras_2_0_8_vs_normal_has_no_correction() -> None:
    cfg = {"class_name": "VarianceScaling",
           "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": None}}
    old = kerasinit.describe(cfg, (256, 784), keras_version="2.0.8").distribution
    new = kerasinit.describe(cfg, (256, 784), keras_version="2.2.0").distribution
    assert old.std == pytest.approx(math.sqrt(2 / 784), rel=1e-14)
    assert old.realised_std == pytest.approx(C * math.sqrt(2 / 784), rel=1e-12)
    assert new.realised_std == pytest.approx(math.sqrt(2 / 784), rel=1e-12)


def test_orthogonal_and_identity_ignore_einsum_axes() -> None:
    """Only VarianceScaling takes the einsum axes; Orthogonal flattens the Keras kernel."""
    r = kerasinit.describe("orthogonal", (128, 64), layout=layouts.MHAProjection(4))
    assert r.keras_shape == (64, 4, 32) and r.fan_source.startswith("Keras rank rule")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_resolved_bounds_hold_on_filled_tensors(dtype: torch.dtype) -> None:
    """The fill uses the resolved bounds on every layout (max |w| <= limit, close to it)."""
    g = torch.Generator().manual_seed(1)
    for case, shape, layout, _ in LAYOUT_CASES:
        if math.prod(shape) < 2000:
            continue
        w = torch.empty(shape, dtype=dtype)
        kerasinit.get("he_uniform")(w, layout=layout, generator=g)
        limit = kerasinit.describe("he_uniform", shape, layout=layout).distribution.high
        assert float(w.abs().max()) <= limit, case
        assert float(w.abs().max()) >= limit * (1 - 20 / w.numel()), case
