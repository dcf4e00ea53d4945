"""The NumPy direct Box-Muller path equals the torch emulation (itself checked against glibc).

The NumPy versions of ``radius`` and ``sincosf`` reorder work into fewer passes; they must give
the same float32 bits on every one of the 2^23 inputs. The default run checks the edges and
2^16 sampled inputs (every sincosf quadrant, the tiny-angle and small-angle ranges, m = 0);
``-m slow`` checks all 2^23.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kerasinit.bridge.rng import libm


def _check(m: torch.Tensor) -> None:
    mn = m.numpy().astype(np.int64)
    r, s, c = (np.empty(len(mn), np.float32) for _ in range(3))
    for p in range(0, len(mn), libm.PIECE):
        q = slice(p, p + libm.PIECE)
        libm._radius_np(mn[q], r[q])
        libm._sincos_np(mn[q], s[q], c[q])
    s_ref, c_ref = libm.sincosf(libm.angle(m))
    for got, ref in ((r, libm.radius(m)), (s, s_ref), (c, c_ref)):
        assert np.array_equal(got.view(np.int32), ref.numpy().view(np.int32))


def test_numpy_path_equals_torch_emulation_sampled() -> None:
    edges = torch.tensor([0, 1, 2, 325, 326, 327, 328, 399, 400, 1 << 20, (1 << 21) - 1,
                          1 << 21, 1 << 22, 3 << 21, (1 << 23) - 1])
    g = torch.Generator().manual_seed(3)
    _check(torch.cat([edges, torch.arange(0, 2048), torch.randint(0, 1 << 23, (1 << 16,),
                                                                  generator=g)]))


@pytest.mark.slow
def test_numpy_path_equals_torch_emulation_exhaustive() -> None:
    for a in range(0, 1 << 23, 1 << 20):
        _check(torch.arange(a, a + (1 << 20)))
