"""Structured initializers on torch layouts, and tensor edge cases.

Expected values are built here from the reference: Orthogonal §5.1 (Keras flattens its kernel
to (prod(shape[:-1]), shape[-1]); columns orthonormal when tall, rows when wide), Identity §5.2,
STFT §5.3, Constant §5.4 / §2.2 (Keras 3 broadcasts, tf_keras reshapes), fans of rank 0/1
§3.1 and the layout table §10. The Keras view of a torch tensor is written out by hand
(``permute``/``reshape``), never through ``kerasinit.layouts``.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit import layouts

C = 0.87962566103423978


def keras_view_linear(w: torch.Tensor) -> torch.Tensor:
    """torch Linear (out, in) -> Keras Dense kernel (in, out)."""
    return w.t()


def keras_flat_conv(w: torch.Tensor) -> torch.Tensor:
    """torch Conv2d (out, in, kh, kw) -> Keras (kh, kw, in, out) flattened to (kh*kw*in, out)."""
    return w.permute(2, 3, 1, 0).reshape(-1, w.shape[0])


def assert_frame(m: torch.Tensor, gain: float, atol: float) -> None:
    """Keras §5.1: columns orthonormal if rows >= cols, else rows; times gain."""
    rows, cols = m.shape
    gram = m.t() @ m if rows >= cols else m @ m.t()
    eye = torch.eye(min(rows, cols), dtype=m.dtype) * gain**2
    assert torch.allclose(gram, eye, atol=atol), (gram - eye).abs().max()


# -- Orthogonal ------------------------------------------------------------------------------
@pytest.mark.parametrize("out_features,in_features", [(16, 64), (64, 16), (32, 32)])
@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_orthogonal_linear(out_features: int, in_features: int, gain: float) -> None:
    w = kerasinit.get({"class_name": "Orthogonal", "config": {"gain": gain, "seed": 3}})(
        torch.empty(out_features, in_features, dtype=torch.float64))
    k = keras_view_linear(w)  # (in, out)
    assert_frame(k, gain, 1e-12)
    # the orientation is Keras's: tall Keras kernel (in >= out) -> orthonormal COLUMNS of k,
    # i.e. orthonormal rows of the torch weight
    if in_features > out_features:
        assert torch.allclose(w @ w.t(), gain**2 * torch.eye(out_features, dtype=w.dtype),
                              atol=1e-12)
        assert not torch.allclose(w.t() @ w, gain**2 * torch.eye(in_features, dtype=w.dtype),
                                  atol=1e-3)


@pytest.mark.parametrize("shape", [(8, 4, 3, 3), (64, 2, 2, 2)])  # tall (36, 8); wide (8, 64)
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_conv2d_on_keras_flattening(shape: tuple[int, ...], gain: float) -> None:
    w = kerasinit.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain, seed=1)
    flat = keras_flat_conv(w)
    assert_frame(flat, gain, 1e-12)
    if flat.shape[0] >= flat.shape[1]:  # every output filter is a vector of norm = gain
        norms = w.reshape(shape[0], -1).norm(dim=1)
        assert torch.allclose(norms, torch.full_like(norms, gain), atol=1e-12)


def test_orthogonal_depthwise_is_one_frame_over_the_keras_kernel() -> None:
    """§10: Keras (3, 3, 64, 1) is one unit vector of length 576 (torch would give (64, 9))."""
    w = kerasinit.get("orthogonal", seed=2)(torch.empty(64, 1, 3, 3, dtype=torch.float64),
                                          layout=layouts.Depthwise(1))
    assert w.pow(2).sum().item() == pytest.approx(1.0, abs=1e-12)
    m = 4  # (256, 1, 3, 3) -> Keras (3, 3, 64, 4) -> (576, 4): 4 orthonormal columns
    w4 = kerasinit.get("orthogonal", seed=2)(torch.empty(64 * m, 1, 3, 3, dtype=torch.float64),
                                           layout=layouts.Depthwise(m))
    keras = w4.reshape(64, m, 3, 3).permute(2, 3, 0, 1).reshape(576, m)
    assert_frame(keras, 1.0, 1e-12)


def test_orthogonal_whole_lstm_recurrent_matrix() -> None:
    """Keras orthogonalises the whole (u, 4u) recurrent kernel, not each gate (§10)."""
    u = 32
    w = kerasinit.get("orthogonal", seed=0)(torch.empty(4 * u, u, dtype=torch.float64))
    assert_frame(w.t(), 1.0, 1e-12)   # Keras (u, 4u) is wide: rows orthonormal
    gate = w[:u]
    assert not torch.allclose(gate @ gate.t(), torch.eye(u, dtype=w.dtype), atol=0.1)


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.float16, 3e-3),
                                        (torch.bfloat16, 3e-2)])
def test_orthogonal_low_precision(dtype: torch.dtype, atol: float) -> None:
    w = kerasinit.orthogonal_(torch.empty(20, 50, dtype=dtype), seed=5)
    assert w.dtype == dtype
    assert_frame(keras_view_linear(w).double(), 1.0, atol)


# -- Identity --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_identity_torch_and_keras_layouts(shape: tuple[int, int], gain: float) -> None:
    out, inp = shape
    w = kerasinit.get({"class_name": "Identity", "config": {"gain": gain}})(torch.full(shape, 9.0))
    keras = gain * np.eye(inp, out)  # Keras kernel (in, out)
    assert np.array_equal(w.t().numpy(), keras)
    k = kerasinit.identity_(torch.full(shape, 9.0), gain=gain, layout="keras")
    assert np.array_equal(k.numpy(), gain * np.eye(*shape))


# -- Constant --------------------------------------------------------------------------------
def test_constant_broadcasts_in_keras3_and_reshapes_in_keras2() -> None:
    w = torch.empty(2, 3)  # Keras kernel (3, 2)
    k3 = kerasinit.get({"class_name": "Constant", "config": {"value": [1.0, 2.0]}})(w.clone())
    # Keras 3: value * ones((3, 2)) = [[1, 2]] * 3 -> torch = transpose
    assert k3.tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    col = kerasinit.get({"class_name": "Constant", "config": {"value": [[1.0], [2.0], [3.0]]}})
    assert col(w.clone()).tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    six = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    k2 = kerasinit.get({"class_name": "Constant", "config": {"value": six}}, keras_version="2")
    # tf_keras: tf.constant(value, shape=(3, 2)) = [[1, 2], [3, 4], [5, 6]] -> transpose
    assert k2(w.clone()).tolist() == [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]
    scalar_array = kerasinit.get({"class_name": "Constant", "config": {"value": [4.0]}})
    for version in ("3", "2"):
        assert kerasinit.get(scalar_array, keras_version=version)(w.clone()).eq(4.0).all()
    assert kerasinit.constant_(torch.empty(3), 2.5).tolist() == [2.5, 2.5, 2.5]


def test_exact_shape_array_constant() -> None:
    """Keras 3 ``get(array)``: the requested (Keras) shape must equal the array's."""
    arr = np.arange(6.0).reshape(3, 2)  # Keras kernel of torch Linear (2, 3)
    init = kerasinit.get(arr)
    w = init(torch.empty(2, 3))
    assert np.array_equal(w.numpy(), arr.T)
    assert np.array_equal(init(torch.empty(3, 2), layout="keras").numpy(), arr)
    t = kerasinit.get(torch.arange(4.0))(torch.empty(4))
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_constant_array_on_integer_tensor_and_conv_layout() -> None:
    w = torch.zeros(2, 1, 3, dtype=torch.int64)  # Conv1d(1, 2, 3): Keras (3, 1, 2)
    v = [[[1.0, 2.0]], [[3.0, 4.0]], [[5.0, 6.0]]]
    kerasinit.get({"class_name": "Constant", "config": {"value": v}})(w)
    assert w.tolist() == [[[1, 3, 5]], [[2, 4, 6]]]


def test_constant_array_fill_emits_no_warning() -> None:
    """Filling from an array constant must not leak torch's non-writable-numpy UserWarning."""
    code = ("import warnings, torch, kerasinit\nwarnings.simplefilter('error')\n"
            "kerasinit.get({'class_name': 'Constant', 'config': {'value': [[1.0, 2.0]]}})"
            "(torch.empty(2, 1))\nkerasinit.get('identity')(torch.empty(2, 2))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not writable" not in done.stderr


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8, torch.bool])
def test_zeros_ones_on_integer_and_bool(dtype: torch.dtype) -> None:
    z = kerasinit.zeros_(torch.ones(3, 2, dtype=dtype))
    o = kerasinit.ones_(torch.zeros(3, 2, dtype=dtype))
    assert z.dtype == dtype and not z.any()
    assert o.dtype == dtype and o.all() and int(o.sum()) == 6
    assert kerasinit.constant_(torch.zeros(2, dtype=dtype), 2.5).tolist() == (
        [True, True] if dtype == torch.bool else [2, 2])


# -- STFT ------------------------------------------------------------------------------------
def stft_reference(T: int, F: int, side: str, window: object, scaling: str | None,
                   periodic: bool) -> np.ndarray:
    """§5.3, written out: (T, 1, F) Keras kernel."""
    t = np.arange(T, dtype=np.float64)[:, None]
    f = np.arange(F, dtype=np.float64)[None, :]
    theta = -2.0 * math.pi * t * f / (2.0 * (F - 1))
    k = np.cos(theta) if side == "real" else np.sin(theta)
    if window is not None:
        if isinstance(window, str):
            n = np.arange(T)
            denom = T if periodic else T - 1
            a0 = {"hann": 0.5, "hamming": 0.54}[window]
            w = a0 - (1 - a0) * np.cos(2 * math.pi * n / denom)
        else:
            w = np.asarray(window, dtype=np.float64)
        s = {"density": math.sqrt(float(np.sum(w * w))), "spectrum": float(np.sum(np.abs(w))),
             None: 1.0}[scaling]
        k = k * (w / s)[:, None]
    return k[:, None, :]


STFT_CASES = [(side, window, scaling, periodic)
              for side in ("real", "imag")
              for window in ("hann", "hamming", None, (0.2, 0.5, 1.0, 1.0, 0.5, 0.3, 0.1, 0.0))
              for scaling in ("density", "spectrum", None)
              for periodic in (False, True)]


@pytest.mark.parametrize("case", STFT_CASES, ids=str)
def test_stft_closed_form(case: tuple[str, object, str | None, bool]) -> None:
    side, window, scaling, periodic = case
    T, F = 8, 5
    w = kerasinit.stft_(torch.empty(F, 1, T, dtype=torch.float64), side=side,
                        window=window if window is None or isinstance(window, str)
                        else list(window), scaling=scaling, periodic=periodic)  # type: ignore[arg-type]
    expected = stft_reference(T, F, side, window, scaling, periodic)
    assert np.allclose(w.permute(2, 1, 0).numpy(), expected, atol=1e-12)


@pytest.mark.tf
def test_stft_matches_live_keras() -> None:
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    T, F = 16, 9
    for side, window, scaling, periodic in STFT_CASES:
        win = window if window is None or isinstance(window, str) else np.resize(window, T)
        obj = keras.initializers.STFT(side=side, window=win, scaling=scaling, periodic=periodic)
        ref = np.asarray(obj((T, 1, F), dtype="float32"))
        ours = kerasinit.get(obj)(torch.empty(F, 1, T))  # Conv1d(1, F, T).weight
        assert np.allclose(ours.permute(2, 1, 0).numpy(), ref, atol=3e-6, rtol=0), (
            side, window, scaling, periodic)


# -- rank 0/1, dtypes, meta, zero-size -------------------------------------------------------
@pytest.mark.parametrize("shape,fans", [((), (1, 1)), ((7,), (7, 7)), ((1000,), (1000, 1000))])
def test_rank_0_and_1_follow_keras_fans(shape: tuple[int, ...], fans: tuple[int, int]) -> None:
    r = kerasinit.describe("he_uniform", shape)
    assert (r.fan_in, r.fan_out) == fans
    limit = math.sqrt(6 / fans[0])
    assert r.distribution.high == pytest.approx(limit)
    w = kerasinit.get("he_uniform", seed=1)(torch.empty(shape))
    assert w.shape == shape and bool(w.abs().max() <= limit)
    g = kerasinit.describe("glorot_normal", shape).distribution
    assert g.std == pytest.approx(math.sqrt(2 / (2 * fans[0])) / C)
    with pytest.raises(ValueError):  # torch raises where Keras does not
        torch.nn.init.kaiming_uniform_(torch.empty(shape))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("name", ["he_normal", "glorot_uniform", "truncated_normal",
                                  "random_normal", "lecun_normal"])
def test_float_dtypes(dtype: torch.dtype, name: str) -> None:
    w = kerasinit.get(name, seed=3)(torch.empty(200, 300, dtype=dtype))
    assert w.dtype == dtype and torch.isfinite(w).all()
    dist = kerasinit.describe(name, (200, 300)).distribution
    std = getattr(dist, "realised_std", None) or dist.std
    # n = 60000: sample std within 3% (its relative s.e. is < 0.5%; float16/bfloat16 rounding
    # adds < 0.4%)
    assert w.double().std().item() == pytest.approx(std, rel=0.03)
    bound = dist.support[1] if hasattr(dist, "support") else getattr(dist, "high", math.inf)
    eps = torch.finfo(dtype).eps
    assert w.double().abs().max().item() <= bound * (1 + eps)


def test_float64_truncated_normal_bound_is_exact() -> None:
    w = kerasinit.get("he_normal", seed=1)(torch.empty(512, 512, dtype=torch.float64))
    sigma = math.sqrt(2 / 512) / C
    assert w.abs().max().item() <= 2 * sigma
    assert w.abs().max().item() > 2 * sigma * 0.999


@pytest.mark.parametrize("name", ["he_normal", "orthogonal", "identity", "zeros", "constant"])
def test_meta_tensors(name: str) -> None:
    w = torch.empty(4, 6, device="meta")
    out = kerasinit.get(name)(w)
    assert out is w and out.is_meta and out.shape == (4, 6)
    if name in ("identity", "orthogonal"):  # the shape is still validated
        with pytest.raises(kerasinit.LayoutError):
            kerasinit.get(name)(torch.empty(4, device="meta") if name == "orthogonal"
                                else torch.empty(2, 3, 4, device="meta"))
    with pytest.raises(kerasinit.LayoutError):
        kerasinit.get(name)(torch.empty(5, 1, 3, device="meta"), layout=layouts.Depthwise(2))


@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0), (0, 3, 3, 3)])
@pytest.mark.parametrize("name", ["he_normal", "glorot_uniform", "orthogonal", "ones"])
def test_zero_size_tensors(shape: tuple[int, ...], name: str) -> None:
    if name == "orthogonal" and len(shape) < 2:
        pytest.skip("orthogonal needs rank >= 2")
    w = torch.empty(shape)
    state = torch.get_rng_state()
    assert kerasinit.get(name)(w) is w
    assert torch.equal(torch.get_rng_state(), state)


def test_zero_size_fans_clamp_like_keras() -> None:
    """§2.2: fans clamp to >= 1. torch (5, 0) -> Keras (0, 5): fan_in 0 -> s = scale."""
    r = kerasinit.describe("he_uniform", (5, 0))
    assert (r.fan_in, r.fan_out) == (0.0, 5.0)
    assert r.distribution.high == pytest.approx(math.sqrt(6.0))


def test_returns_same_object_and_no_grad() -> None:
    p = torch.nn.Parameter(torch.empty(8, 4))
    for name in ("he_normal", "orthogonal", "identity", "zeros"):
        out = kerasinit.get(name)(p)
        assert out is p and p.grad_fn is None and p.requires_grad
