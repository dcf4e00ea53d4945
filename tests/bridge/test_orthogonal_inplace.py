"""``rng="torch"`` Orthogonal is factored in the parameter's Keras view, with the same bits.

The torch stream's Orthogonal draws torch's normals into a column-major ``(max, min)``
matrix, QR-factors it in place and writes ``Q * sign(diag R) * gain`` into the tensor. It
now writes into the tensor's Keras view (an ``nn.Linear`` weight is itself that column-major
matrix; a GRU weight's gate blocks are written side by side) instead of building the Keras
kernel and copying it through the layout. These tests pin that the values, the global RNG
advance and the generator's advance are exactly those of the Keras-layout build (the
reference below: the kernel built whole, then ``layout.to_torch``) for every kind of target.
"""

from __future__ import annotations

import math

import pytest
import torch

import kerasinit
from kerasinit.bridge import samplers
from kerasinit.bridge.layouts import parse_layout


def _keras_kernel(keras_shape: tuple[int, ...], dtype: torch.dtype, gain: float,
                  generator: torch.Generator | None) -> torch.Tensor:
    """Keras's algorithm written out: torch's normals in a column-major ``(max, min)``
    matrix (float64 for float64 targets), ``torch.linalg.qr`` on one thread, ``Q`` times
    ``sign(diag R)`` (+1 for 0) times the gain, transposed if wide, cast."""
    rows, cols = math.prod(keras_shape[:-1]), keras_shape[-1]
    work = torch.float64 if dtype == torch.float64 else torch.float32
    a = torch.empty(min(rows, cols), max(rows, cols), dtype=work).t()
    a.normal_(0.0, 1.0, generator=generator)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        q, r = torch.linalg.qr(a)
    finally:
        torch.set_num_threads(threads)
    q = q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(work) * gain
    return (q if rows >= cols else q.t()).reshape(keras_shape).to(dtype)


def _reference(shape: tuple[int, ...], layout: str, dtype: torch.dtype, gain: float,
               seed: int) -> torch.Tensor:
    """The Keras kernel built whole, copied through the layout."""
    lay = parse_layout(layout)
    kernel = _keras_kernel(lay.keras_shape(shape), dtype, gain,
                           torch.Generator().manual_seed(seed))
    return lay.to_torch(kernel, shape).to(dtype)


CASES = [
    ((300, 200), "torch", torch.float32),        # nn.Linear(200, 300): Keras 200 x 300, wide
    ((200, 300), "torch", torch.float32),        # tall: the weight is the column-major a
    ((32, 16, 3, 3), "torch", torch.float32),    # conv: a strided view that does not fold
    ((120, 40), "gru", torch.float32),           # gate blocks side by side
    ((90, 30), "gru", torch.float64),
    ((60, 40), "torch", torch.float64),          # float64: normals, QR and gain in float64
    ((40, 70), "torch", torch.float16),
    ((40, 60), "torch", torch.bfloat16),
    ((50, 70), "keras", torch.float32),          # row-major Keras kernel
]


@pytest.mark.parametrize(("shape", "layout", "dtype"), CASES)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_in_place_equals_keras_layout_build(shape: tuple[int, ...], layout: str,
                                            dtype: torch.dtype, gain: float) -> None:
    want = _reference(shape, layout, dtype, gain, seed=11)
    init = kerasinit.get({"class_name": "Orthogonal", "config": {"gain": gain}})
    got = init(torch.empty(shape, dtype=dtype), layout=layout,
               generator=torch.Generator().manual_seed(11))
    assert torch.equal(got, want)


def test_global_rng_advances_as_before() -> None:
    """Unseeded calls draw from torch's global RNG exactly as the Keras-layout build did."""
    lay = parse_layout("gru")
    torch.manual_seed(0)
    values = _keras_kernel((40, 120), torch.float32, 1.0, None)
    want, want_state = lay.to_torch(values, (120, 40)), torch.get_rng_state()
    torch.manual_seed(0)
    w = torch.empty(120, 40)
    kerasinit.get("orthogonal")(w, layout="gru")
    assert torch.equal(w, want)
    assert torch.equal(torch.get_rng_state(), want_state)


def test_non_contiguous_target_is_built_and_copied() -> None:
    """A layout that copies (a non-foldable reshape) still gets the Keras-layout build."""
    base = torch.zeros(80, 60)
    target = base[:, ::2]
    g = torch.Generator().manual_seed(4)
    kerasinit.get("orthogonal")(target, generator=g)
    assert torch.equal(target, _reference((80, 30), "torch", torch.float32, 1.0, seed=4))
    assert not base[:, 1::2].any()                  # the skipped columns are untouched


def test_keras_target_views() -> None:
    """The Keras view is written in place: a view of the tensor, or the GRU gate blocks."""
    w = torch.zeros(6, 4)
    view = samplers.keras_target(w, parse_layout("torch"), (4, 6))
    assert isinstance(view, torch.Tensor) and view.data_ptr() == w.data_ptr()
    gru = torch.zeros(9, 2)
    cols = samplers.keras_target(gru, parse_layout("gru"), (2, 9))
    assert cols is not None and tuple(cols.shape) == (2, 9)
    assert samplers.keras_target(torch.zeros(5, 4)[:, ::2], parse_layout("torch"), (4, 5)) is None
