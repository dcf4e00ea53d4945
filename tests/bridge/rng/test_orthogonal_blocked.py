"""The blocked float64 Orthogonal (``rng="tensorflow"``, large kernels) equals the one-buffer QR.

Large kernels are factored left-looking in column panels, their float64 reflectors kept as
two float32 halves, ``Q`` formed panel by panel into the target (see
:mod:`kerasinit.bridge.rng.orthogonal`). Here the size threshold and the panel width are
shrunk so that small kernels take that path with several panels (a last panel narrower
than the others included), and the result is compared with the one-buffer float64 QR of
the same normals: every element within two float32 rounding steps (2^-22 absolute:
entries are at most the gain, 1.3; the two orders of the same float64 QR differ by ~1e-15 before
rounding, so almost all elements are bit-equal, which is asserted too), for every kind of
target: a tall and a wide kernel, row- and column-major, a conv kernel whose Keras view
does not fold to 2-D, float16 (factored in float32 split over the target: within one float16
step), and split-gate :class:`Columns` views. Live TF: within
2e-6 relative of Keras's own Orthogonal (TF's float32 QR), as the one-buffer path.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import torch

import kerasinit
from kerasinit.bridge.rng import orthogonal as orth
from kerasinit.bridge.rng.sink import Columns, Target, write_flat


@pytest.fixture
def blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orth, "BLOCKED_MIN", 0)
    monkeypatch.setattr(orth, "PANEL", 16)  # _width: PANEL when below 32


def _draw(seed: int, shape: tuple[int, ...]) -> Callable[[Target], object]:
    rows = 1
    for d in shape[:-1]:
        rows *= d
    values = torch.randn(max(rows, shape[-1]), min(rows, shape[-1]),
                         generator=torch.Generator().manual_seed(seed))
    return lambda a: write_flat(a, 0, values.reshape(-1))


def _one_buffer(shape: tuple[int, ...], seed: int, monkeypatch: pytest.MonkeyPatch
                ) -> torch.Tensor:
    with monkeypatch.context() as m:
        m.setattr(orth, "BLOCKED_MIN", 1 << 62)
        return orth.orthogonal(shape, 1.3, _draw(seed, shape), mode="float64")


def _close(got: torch.Tensor, ref: torch.Tensor) -> None:
    got, ref = got.float(), ref.float()
    assert float((got - ref).abs().max()) <= 2.0**-22   # entries <= 1.3: ulp <= 2^-23
    assert int((got != ref).sum()) <= max(2, ref.numel() // 200)


CASES = [((70, 40), "keras"), ((40, 70), "keras"), ((70, 40), "transposed"),
         ((40, 70), "transposed"), ((3, 3, 8, 9), "conv"), ((3, 3, 8, 90), "conv"),
         ((50, 16), "keras"), ((47, 33), "keras")]


def _target(shape: tuple[int, ...], how: str) -> torch.Tensor:
    if how == "keras":
        return torch.empty(shape)
    if how == "transposed":                   # an nn.Linear weight's Keras view
        return torch.empty(shape[::-1]).t()
    kh, kw, i, o = shape                      # a Conv2d weight's Keras view: does not fold
    return torch.empty(o, i, kh, kw).permute(2, 3, 1, 0)


@pytest.mark.parametrize(("shape", "how"), CASES)
def test_blocked_equals_one_buffer(shape: tuple[int, ...], how: str, blocked: None,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _one_buffer(shape, 3, monkeypatch)
    out = _target(shape, how)
    got = orth.orthogonal(shape, 1.3, _draw(3, shape), mode="float64", out=out)
    assert got.data_ptr() == out.data_ptr() and tuple(got.shape) == shape
    _close(got, ref)
    q = got.reshape(-1, shape[-1]).double() / 1.3
    small = min(q.shape)
    gram = q.t() @ q if q.shape[0] >= q.shape[1] else q @ q.t()
    assert torch.allclose(gram, torch.eye(small, dtype=torch.float64), atol=1e-5)


@pytest.mark.parametrize("shape", [(70, 40), (40, 70)])
def test_blocked_other_targets(shape: tuple[int, ...], blocked: None,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _one_buffer(shape, 5, monkeypatch)
    half = orth.orthogonal(shape, 1.3, _draw(5, shape), mode="float64",
                           out=torch.empty(shape, dtype=torch.float16))
    # float16 targets are factored in float32 split over the target (test_orthogonal_half.py):
    # within one float16 step of the float32-rounded reference, at most 1 % of elements off
    want = ref.half().float()
    assert float(((half.float() - want).abs() / want.abs().clamp_min(2.0**-10)).max()) <= 2.0**-10
    assert int((half != ref.half()).sum()) <= ref.numel() // 100
    a, b = torch.empty(shape[0], 13), torch.empty(shape[1] - 13, shape[0]).t()
    orth.orthogonal(shape, 1.3, _draw(5, shape), mode="float64", out=Columns([a, b]))
    _close(torch.cat([a, b], 1), ref)


def test_blocked_through_get(blocked: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The public call takes the blocked path and agrees with the one-buffer one."""
    init = kerasinit.get("orthogonal", seed=9, rng="tensorflow")
    got = init(torch.empty(72, 40))
    calls: list[int] = []
    monkeypatch.setattr(orth, "_blocked", lambda *a: calls.append(1))
    init(torch.empty(72, 40))
    assert calls == [1]
    monkeypatch.undo()
    with monkeypatch.context() as m:
        m.setattr(orth, "BLOCKED_MIN", 1 << 62)
        ref = init(torch.empty(72, 40))
    _close(got, ref)


@pytest.mark.tf
def test_blocked_matches_live_keras(blocked: None) -> None:
    pytest.importorskip("tensorflow")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":  # pragma: no cover - another backend loaded
        pytest.skip("Keras runs on another backend in this process")
    for shape in [(70, 40), (40, 70), (3, 3, 4, 20)]:
        expected = torch.from_numpy(
            keras.initializers.Orthogonal(gain=1.5, seed=4)(shape).numpy())
        got = kerasinit.get({"class_name": "Orthogonal", "config": {"gain": 1.5}}, seed=4,
                            rng="tensorflow")(torch.empty(shape), layout="keras")
        assert float((got - expected).norm() / expected.norm()) < 2e-6, shape


def test_blocked_gru_gate_blocks(blocked: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GRU recurrent kernel's Keras view (gate blocks side by side, each transposed): the
    normals in float32 panels, ``hi`` and ``Q`` in the weight itself."""
    init = kerasinit.get("orthogonal", seed=4, rng="tensorflow")
    got = init(torch.empty(3 * 24, 24), layout="gru")
    with monkeypatch.context() as m:
        m.setattr(orth, "BLOCKED_MIN", 1 << 62)
        ref = init(torch.empty(3 * 24, 24), layout="gru")
    _close(got, ref)
