"""Orthogonal on float16/bfloat16 parameters keeps its float32 matrix split over the target.

LAPACK has no half-precision QR, and a float32 copy of the normal matrix is alone twice a
half-precision parameter. From ``BLOCKED_MIN`` elements on, ``rng="torch"`` and
``rng="tensorflow"`` (and ``"jax"`` without SciPy) factor such a parameter with the blocked
float64 QR while the float32 normals, then the float32 reflectors, are kept as a
:class:`~kerasinit.bridge.rng.sink.Split`: the upper 16 bits of each value in the parameter
itself, the lower 16 bits aside (1x). Checked here: the Split round trip is bit-exact; the
values are those of the one-buffer float32/float64 QR rounded to half precision except for
rounding-boundary cases (every element within one half-precision step; at most 1 % of
elements differ: float32 reflectors carry ~1e-7 relative error, a half-precision step is
~1e-3); torch's generator advances exactly as before; the path is taken for tall, wide and
non-foldable (conv) targets and wide GRU kernels (their gate blocks' rows are ``a``); a
tall GRU kernel (Columns), which cannot be split, is factored in one float32 matrix.
"""

from __future__ import annotations

import math

import pytest
import torch

import kerasinit
from kerasinit.bridge.rng import orthogonal as orth
from kerasinit.bridge.rng.sink import Split, write_flat

HALF = [torch.float16, torch.bfloat16]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Blocked path for small kernels, several panels; records each blocked call."""
    monkeypatch.setattr(orth, "BLOCKED_MIN", 0)
    monkeypatch.setattr(orth, "PANEL", 16)
    calls: list[int] = []
    real = orth._blocked

    def spy(*args: object) -> None:
        calls.append(1)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(orth, "_blocked", spy)
    return calls


def test_split_round_trip_is_bit_exact() -> None:
    x = torch.tensor([0.0, -0.0, 1.5, -2.0e-3, 3.4e38, -1.2e-38, 1e-45, float("inf"),
                      float("-inf"), 65504.0, 3.1415927])
    target = torch.empty(11, 2, dtype=torch.bfloat16)[:, 1]          # strided
    s = Split(target.view(torch.int16), torch.empty(11, dtype=torch.int16))
    write_flat(s, 0, x)
    assert torch.equal(s.read().view(torch.int32), x.view(torch.int32))
    s.store(-x)
    assert torch.equal(s.read(torch.float64), (-x).double())
    nan = torch.tensor([float("nan")])
    t = Split(torch.empty(1, dtype=torch.int16), torch.empty(1, dtype=torch.int16))
    t.store(nan)
    assert torch.equal(t.read().view(torch.int32), nan.view(torch.int32))


def _within_half_step(got: torch.Tensor, ref: torch.Tensor) -> None:
    """Every element equals ``ref`` rounded to ``got``'s dtype or a neighbour of it (below
    2^-14, in float16's subnormal range, within 2^-20: the float32 QR's own absolute error
    is ~1e-7)."""
    want = ref.to(got.dtype).float()
    g = got.float()
    step = (want.abs() * (2.0**-7 if got.dtype == torch.bfloat16 else 2.0**-10)).clamp_min(
        2.0**-20)
    assert bool(((g - want).abs() <= step * 1.01).all())
    assert int((g != want).sum()) <= max(2, ref.numel() // 100)


def _target(shape: tuple[int, ...], how: str, dtype: torch.dtype) -> torch.Tensor:
    if how == "keras":
        return torch.empty(shape, dtype=dtype)
    if how == "transposed":                        # an nn.Linear weight's Keras view
        return torch.empty(shape[::-1], dtype=dtype).t()
    kh, kw, i, o = shape                           # a Conv2d weight's Keras view
    return torch.empty(o, i, kh, kw, dtype=dtype).permute(2, 3, 1, 0)


CASES = [((70, 40), "keras"), ((40, 70), "keras"), ((70, 40), "transposed"),
         ((40, 70), "transposed"), ((3, 3, 8, 9), "conv"), ((47, 33), "keras")]


@pytest.mark.parametrize(("shape", "how"), CASES)
@pytest.mark.parametrize("dtype", HALF)
def test_tensorflow_half_targets_take_the_split_path(
        shape: tuple[int, ...], how: str, dtype: torch.dtype, small_blocks: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    rows, cols = math.prod(shape[:-1]), shape[-1]
    normals = torch.randn(max(rows, cols), min(rows, cols),
                          generator=torch.Generator().manual_seed(7))

    def draw(a: object) -> None:
        write_flat(a, 0, normals.reshape(-1))  # type: ignore[arg-type]

    out = _target(shape, how, dtype)
    got = orth.orthogonal(shape, 1.3, draw, mode="float64", out=out)
    assert small_blocks == [1] and got.data_ptr() == out.data_ptr()
    with monkeypatch.context() as m:
        m.setattr(orth, "BLOCKED_MIN", 1 << 62)
        ref = orth.orthogonal(shape, 1.3, draw, mode="float64")      # float32, one buffer
    _within_half_step(got, ref)


@pytest.mark.parametrize(("shape", "layout"), [((96, 64), "torch"), ((64, 96), "torch"),
                                               ((16, 8, 3, 3), "torch"), ((50, 70), "keras")])
@pytest.mark.parametrize("dtype", HALF)
def test_torch_half_targets_same_stream_close_values(
        shape: tuple[int, ...], layout: str, dtype: torch.dtype, small_blocks: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """rng="torch": the generator advances as with the one-buffer float32 QR and the values
    are that QR's within half-precision rounding."""
    init = kerasinit.get({"class_name": "Orthogonal", "config": {"gain": 2.0}})
    g = torch.Generator().manual_seed(3)
    got = init(torch.empty(shape, dtype=dtype), layout=layout, generator=g)
    assert small_blocks == [1]
    with monkeypatch.context() as m:
        m.setattr(orth, "BLOCKED_MIN", 1 << 62)
        g_ref = torch.Generator().manual_seed(3)
        ref = init(torch.empty(shape, dtype=torch.float32), layout=layout, generator=g_ref)
    assert torch.equal(g.get_state(), g_ref.get_state())
    _within_half_step(got, ref)


@pytest.mark.parametrize("rng", ["torch", "tensorflow"])
def test_gru_recurrent_kernel_split_over_its_gate_blocks(
        rng: str, small_blocks: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide GRU kernel's ``a`` is its gate blocks' rows in Keras's order: split over the
    weight itself (SplitRows); the same values (within a half step) and generator advance."""
    init = kerasinit.get("orthogonal", seed=1, rng=rng)
    g = torch.Generator().manual_seed(6) if rng == "torch" else None
    w = init(torch.empty(3 * 24, 24, dtype=torch.bfloat16), layout="gru", generator=g)
    assert small_blocks == [1]
    with monkeypatch.context() as m:
        m.setattr(orth, "BLOCKED_MIN", 1 << 62)
        g_ref = torch.Generator().manual_seed(6) if rng == "torch" else None
        ref = init(torch.empty(3 * 24, 24), layout="gru", generator=g_ref)
    if g is not None and g_ref is not None:
        assert torch.equal(g.get_state(), g_ref.get_state())
    _within_half_step(w, ref)


def test_tall_gru_kernel_uses_one_float32_matrix(small_blocks: list[int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A tall GRU input kernel (more inputs than 3 x units) cannot be split: both rngs factor
    one float32 matrix (2x; tensorflow's float64 one would be 4x)."""
    init = kerasinit.get("orthogonal", seed=1, rng="tensorflow")
    w = init(torch.empty(3 * 10, 50, dtype=torch.float16), layout="gru")
    kerasinit.get("orthogonal", seed=1)(torch.empty(3 * 10, 50, dtype=torch.float16),
                                        layout="gru")
    assert small_blocks == []
    with monkeypatch.context() as m:
        m.setattr(orth, "BLOCKED_MIN", 1 << 62)
        ref = init(torch.empty(3 * 10, 50), layout="gru")
    _within_half_step(w, ref)


def test_large_half_kernel_takes_the_split_path_by_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = orth._blocked
    monkeypatch.setattr(orth, "_blocked", lambda *a: (calls.append(1), real(*a)))
    w = torch.nn.Linear(256, 256, dtype=torch.bfloat16).weight.detach()   # 2^16 elements
    kerasinit.get("orthogonal", seed=2)(w)
    assert calls == [1]
    q = w.double() @ w.double().t()
    assert torch.allclose(q, torch.eye(256, dtype=torch.float64), atol=0.05)
