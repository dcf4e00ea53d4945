"""The STFT initializer in closed form, with windows matching ``scipy.signal.get_window``.

Keras turns a window name into an array with ``scipy.signal.get_window(name, T, fftbins=periodic)``.
The common windows are computed here in closed form so SciPy is not a runtime dependency; any
other SciPy window name is delegated to SciPy when it is installed.
"""

from __future__ import annotations

import numpy as np

from kerasinit.mappings.distributions import STFT
from kerasinit.mappings.errors import InitializerArgumentError, format_choices

__all__ = ["WINDOWS", "get_window", "stft_kernel"]


def _cosine_sum(coeffs: tuple[float, ...]):  # type: ignore[no-untyped-def]
    def window(m: int, periodic: bool) -> np.ndarray:
        n = np.arange(m, dtype=np.float64)
        denom = m if periodic else m - 1
        x = 2.0 * np.pi * n / denom if denom > 0 else np.zeros(m)
        out = np.zeros(m, dtype=np.float64)
        for k, c in enumerate(coeffs):
            out += (-1) ** k * c * np.cos(k * x)
        return out
    return window


def _bartlett(m: int, periodic: bool) -> np.ndarray:
    size = m + 1 if periodic else m
    n = np.arange(size, dtype=np.float64)
    if size == 1:
        return np.ones(1)
    w = np.where(n <= (size - 1) / 2.0, 2.0 * n / (size - 1), 2.0 - 2.0 * n / (size - 1))
    return w[:m]


def _boxcar(m: int, periodic: bool) -> np.ndarray:
    return np.ones(m, dtype=np.float64)


WINDOWS = {
    "hann": _cosine_sum((0.5, 0.5)),
    "hamming": _cosine_sum((0.54, 0.46)),
    "blackman": _cosine_sum((0.42, 0.5, 0.08)),
    "bartlett": _bartlett,
    "boxcar": _boxcar,
}


def get_window(name: str, length: int, *, periodic: bool) -> np.ndarray:
    """The window of ``length`` samples (periodic = SciPy's ``fftbins=True``)."""
    if length == 1:
        return np.ones(1)
    if name in WINDOWS:
        window: np.ndarray = WINDOWS[name](length, periodic)
        return window
    try:
        from scipy.signal import get_window as scipy_get_window
    except ImportError:
        raise InitializerArgumentError(
            f"STFT window {name!r} needs SciPy (not installed). Built-in windows: "
            f"{format_choices(WINDOWS)}; or pass the window as an array."
        ) from None
    try:
        window = np.asarray(scipy_get_window(name, length, fftbins=periodic),
                                        dtype=np.float64)
        return window
    except ValueError as exc:
        raise InitializerArgumentError(
            f"Unknown STFT window {name!r} ({exc}). Built-in windows: {format_choices(WINDOWS)}."
        ) from None


def stft_kernel(dist: STFT, frame_length: int, bins: int) -> np.ndarray:
    """Keras's STFT Conv1D kernel, shape (frame_length, 1, bins), in float64.

    ``K[t, 0, f] = cos(θ) (real) or sin(θ) (imag), θ = -2π t f / N, N = 2 (bins - 1)``, times
    ``w[t] / S`` when a window is given (S = sqrt(Σ w²) for 'density', Σ|w| for 'spectrum').
    """
    t = np.arange(frame_length, dtype=np.float64)[:, None]
    f = np.arange(bins, dtype=np.float64)[None, :]
    n_fft = 2.0 * (bins - 1)
    theta = -2.0 * np.arccos(-1.0) * t * f / n_fft if n_fft else np.zeros_like(t * f)
    kernel = np.cos(theta) if dist.side == "real" else np.sin(theta)
    if dist.window is not None:
        w = (np.asarray(dist.window, dtype=np.float64) if isinstance(dist.window, tuple)
             else get_window(dist.window, frame_length, periodic=dist.periodic))
        scale = {"density": float(np.sqrt(np.sum(w * w))), "spectrum": float(np.sum(np.abs(w))),
                 None: 1.0}[dist.scaling]
        kernel = kernel * (w / scale)[:, None]
    return np.ascontiguousarray(kernel[:, None, :])
