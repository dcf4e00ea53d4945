"""Resolved distributions: what will actually be sampled, as plain numbers.

A spec (``HeNormal``) plus a Keras kernel shape and a Keras version resolves to one of these
frozen objects (``TruncatedNormal(mean=0, std=0.0575, low=-0.115, high=0.115)``). They are the
contract between the Keras side (``mappings``) and every sampler (``bridge``, the seed-faithful
RNGs, the parity suite). All numbers are Python floats computed in float64, as Keras does
before handing them to its backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "STFT",
    "TRUNCNORM_STD",
    "Constant",
    "Distribution",
    "Identity",
    "Normal",
    "Orthogonal",
    "TruncatedNormal",
    "Uniform",
]

#: Standard deviation of a standard normal truncated to [-2, 2] (``scipy.stats.truncnorm.std(-2, 2)``).
TRUNCNORM_STD = 0.87962566103423978


@dataclass(frozen=True, slots=True)
class Uniform:
    """U[low, high): ``low + (high - low) * u`` with u in [0, 1)."""

    low: float
    high: float

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    @property
    def std(self) -> float:
        return abs(self.high - self.low) / math.sqrt(12.0)

    @property
    def support(self) -> tuple[float, float]:
        return (min(self.low, self.high), max(self.low, self.high))

    def formula(self) -> str:
        return f"U[{self.low:.6g}, {self.high:.6g})"


@dataclass(frozen=True, slots=True)
class Normal:
    """N(mean, std²), untruncated."""

    mean: float
    std: float

    @property
    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def formula(self) -> str:
        return f"N(mean={self.mean:.6g}, std={self.std:.6g})"


@dataclass(frozen=True, slots=True)
class TruncatedNormal:
    """A normal with parameters (mean, std) cut to [low, high] (absolute bounds).

    Keras always cuts at mean ± 2·std, so ``low = mean - 2*std`` and ``high = mean + 2*std``.
    The realised standard deviation is ``TRUNCNORM_STD * std`` for those bounds.
    """

    mean: float
    std: float
    low: float
    high: float

    @property
    def realised_std(self) -> float:
        """Standard deviation of the samples (the truncated distribution)."""
        a, b = (self.low - self.mean) / self.std, (self.high - self.mean) / self.std
        if math.isclose(a, -2.0) and math.isclose(b, 2.0):
            return TRUNCNORM_STD * abs(self.std)
        return abs(self.std) * _truncnorm_std(a, b)

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def formula(self) -> str:
        return (f"TN(mean={self.mean:.6g}, std={self.std:.6g}, "
                f"cut [{self.low:.6g}, {self.high:.6g}]; realised std {self.realised_std:.6g})")


@dataclass(frozen=True, slots=True)
class Orthogonal:
    """Haar-random (semi-)orthogonal frame on Keras's flattening (prod(shape[:-1]), shape[-1]), × gain."""

    gain: float

    def formula(self) -> str:
        return f"orthogonal(gain={self.gain:.6g}) on (prod(shape[:-1]), shape[-1])"


@dataclass(frozen=True, slots=True)
class Identity:
    """``gain * eye(rows, cols)`` of a 2-D Keras kernel (rectangular allowed)."""

    gain: float

    def formula(self) -> str:
        return f"{self.gain:.6g} * eye(in, out)"


@dataclass(frozen=True, slots=True)
class Constant:
    """A constant fill. ``value`` is a float or a nested tuple (an array in Keras layout).

    ``array_rule`` says how an array fills a larger shape: ``"broadcast"`` (Keras 3) or
    ``"reshape"`` (tf_keras: equal element count).
    """

    value: float | tuple[object, ...]
    array_rule: str = "broadcast"

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.value, tuple)

    def formula(self) -> str:
        if self.is_scalar:
            return f"constant {self.value!r}"
        return f"constant array ({self.array_rule})"


@dataclass(frozen=True, slots=True)
class STFT:
    """Deterministic STFT Conv1D kernel (Keras 3.7+), computed in closed form.

    ``window`` is a window name (``'hann'``, ``'hamming'``, ...), a tuple of floats, or None.
    """

    side: str
    window: str | tuple[float, ...] | None
    scaling: str | None
    periodic: bool

    def formula(self) -> str:
        return (f"STFT(side={self.side!r}, window={self.window!r}, scaling={self.scaling!r}, "
                f"periodic={self.periodic})")


Distribution = Uniform | Normal | TruncatedNormal | Orthogonal | Identity | Constant | STFT


def _truncnorm_std(a: float, b: float) -> float:
    """Std of a standard normal truncated to [a, b] (closed form)."""
    def pdf(x: float) -> float:
        return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) if math.isfinite(x) else 0.0

    def cdf(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2.0))

    z = cdf(b) - cdf(a)
    fa = a * pdf(a) if math.isfinite(a) else 0.0
    fb = b * pdf(b) if math.isfinite(b) else 0.0
    m = (pdf(a) - pdf(b)) / z
    var = 1.0 + (fa - fb) / z - m * m
    return math.sqrt(max(var, 0.0))
