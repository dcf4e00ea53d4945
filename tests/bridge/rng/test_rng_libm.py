"""glibc ``logf``/``sincosf`` emulation vs the platform's libm, on the Box-Muller domain.

The radius input is ``u1 = m 2^-23`` (m = 0 clamped to 1e-7f) and the angle
``float32(2 pi m 2^-23)``, m in [0, 2^23): 2^23 inputs each. The default run checks 2^14
sampled m plus the edges (0, 1, 2^22, 2^23-1 and the sincosf branch points); ``-m slow``
checks all 2^23 exhaustively. Runs only on glibc >= 2.28 (where logf/sincosf are the
optimized-routines versions TF's Linux wheel calls).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import numpy as np
import pytest
import torch

from kerasinit.bridge.rng import libm

_libc, _ver = platform.libc_ver()
_GLIBC = _libc == "glibc" and tuple(int(p) for p in _ver.split(".")[:2]) >= (2, 28)
pytestmark = pytest.mark.skipif(not _GLIBC, reason="needs glibc >= 2.28 as the reference")


def _platform() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    lm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    lm.logf.restype, lm.logf.argtypes = ctypes.c_float, [ctypes.c_float]
    lm.sincosf.restype = None
    lm.sincosf.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float),
                           ctypes.POINTER(ctypes.c_float)]
    return lm, lm


def _reference(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Platform radius (logf, then correctly rounded sqrt) and sincosf of the angle."""
    lm, _ = _platform()
    u1 = (m.double() * 2.0**-23).float()
    u1[m == 0] = float(torch.tensor(1e-7, dtype=torch.float32))
    logs = torch.tensor([lm.logf(x) for x in u1.tolist()], dtype=torch.float32)
    rad = torch.sqrt((-2.0 * logs).double()).float()
    s, c = ctypes.c_float(), ctypes.c_float()
    sins, coss = [], []
    for x in libm.angle(m).tolist():
        lm.sincosf(x, ctypes.byref(s), ctypes.byref(c))
        sins.append(s.value)
        coss.append(c.value)
    return rad, torch.tensor(sins, dtype=torch.float32), torch.tensor(coss, dtype=torch.float32)


def _check(m: torch.Tensor) -> None:
    rad, sin, cos = _reference(m)
    got_s, got_c = libm.sincosf(libm.angle(m))
    assert int((libm.radius(m) != rad).sum()) == 0
    assert int((got_s != sin).sum()) == 0
    assert int((got_c != cos).sum()) == 0
    # The NumPy direct path (CPU, no tables) on the same inputs: sin and cos times the radius.
    words = m.to(torch.int32).numpy()
    out_s, out_c = np.empty(len(words), np.float32), np.empty(len(words), np.float32)
    libm.box_muller_numpy(words, words, out_s, out_c)
    assert torch.equal(torch.from_numpy(out_s), sin * rad)
    assert torch.equal(torch.from_numpy(out_c), cos * rad)


def _edges() -> torch.Tensor:
    two_pi = 2 * torch.pi
    # m near the angle branch points 0.75 (polynomial / reduction), 2^-12 (tiny) and k pi/4.
    points = [0.75, 2.0**-12] + [k * torch.pi / 4 for k in range(1, 8)]
    near = [int(p / two_pi * 2**23) + d for p in points for d in (-2, -1, 0, 1, 2)]
    return torch.tensor([0, 1, 2, 2**22, 2**23 - 1, *near], dtype=torch.int64)


def test_sampled_domain_matches_platform() -> None:
    g = torch.Generator().manual_seed(0)
    _check(torch.cat([_edges(), torch.randint(0, 2**23, (2**14,), generator=g)]))


def test_tables_equal_direct_evaluation() -> None:
    box = libm.BoxMuller(torch.device("cpu"), tabulated=True)
    direct = libm.BoxMuller(torch.device("cpu"), tabulated=False)
    g = torch.Generator().manual_seed(1)
    wa = torch.randint(-2**31, 2**31, (4096,), generator=g, dtype=torch.int32)
    wb = torch.randint(-2**31, 2**31, (4096,), generator=g, dtype=torch.int32)
    outs = [torch.empty(4096) for _ in range(4)]
    box.pair(wa, wb, outs[0], outs[1])
    direct.pair(wa, wb, outs[2], outs[3])
    assert torch.equal(outs[0], outs[2]) and torch.equal(outs[1], outs[3])


@pytest.mark.slow
def test_exhaustive_domain_matches_platform() -> None:
    """All 2^23 inputs of each function (about a minute of ctypes calls)."""
    for a in range(0, 2**23, 2**21):
        _check(torch.arange(a, a + 2**21))


def test_tables_are_built_once_enough_values_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rent-or-buy: direct evaluation until the values requested by earlier calls on the
    device reach the threshold (one tensor alone never builds the tables)."""
    cpu = torch.device("cpu")
    monkeypatch.setattr(libm.BoxMuller, "_tables", {})
    monkeypatch.setattr(libm.BoxMuller, "_drawn", {})
    monkeypatch.setattr(libm.BoxMuller, "TABLE_THRESHOLD", 1000)
    monkeypatch.setattr(libm.BoxMuller, "TABLE_MIN_CALL", 1)
    monkeypatch.setattr(libm, "DOMAIN", 1 << 20)  # a small stand-in table: this checks the rule
    assert libm.BoxMuller.for_size(5000, cpu).tables is None         # alone: never
    monkeypatch.setattr(libm.BoxMuller, "_drawn", {})
    assert libm.BoxMuller.for_size(600, cpu).tables is None
    assert libm.BoxMuller.for_size(399, cpu).tables is None
    assert libm.BoxMuller.for_size(1, cpu).tables is None            # 999 drawn before it
    assert libm.BoxMuller.for_size(1, cpu).tables is not None        # 1000 drawn: build
    assert libm.BoxMuller.for_size(1, cpu).tables is not None        # built: keep using


def test_tables_are_built_only_by_a_call_they_cost_at_most_a_tenth_of(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The 96 MiB tables (12 bytes per entry) are built only by a call of at least ten times
    their size in float32 values, so no call's extra memory passes 0.1x its tensor; smaller
    calls evaluate directly, before and after the threshold."""
    cpu = torch.device("cpu")
    assert libm.BoxMuller.TABLE_MIN_CALL * 4 == 10 * 12 * libm.DOMAIN
    monkeypatch.setattr(libm.BoxMuller, "_tables", {})
    monkeypatch.setattr(libm.BoxMuller, "_drawn", {})
    monkeypatch.setattr(libm.BoxMuller, "TABLE_THRESHOLD", 1000)
    monkeypatch.setattr(libm.BoxMuller, "TABLE_MIN_CALL", 3000)
    monkeypatch.setattr(libm, "DOMAIN", 1 << 20)
    assert libm.BoxMuller.for_size(2000, cpu).tables is None
    assert libm.BoxMuller.for_size(2999, cpu).tables is None         # past the threshold, small
    assert libm.BoxMuller.for_size(3000, cpu).tables is not None     # large enough: build
    assert libm.BoxMuller.for_size(1, cpu).tables is not None        # built: keep using
