"""The statistics battery: exact support, moment z-tests, KS, Anderson–Darling, invariants.

Every function takes plain float64 numpy arrays (already in the Keras layout where the layout
matters) and returns a :class:`Check`. Stochastic checks carry a p-value; the verdict is set
later by :func:`holm` (within a case) so that the family-wise error rate of a case is α.
Deterministic checks (support, orthogonality, exact values) have no p-value: they pass or fail.

The power statement of a case comes from the variance z-test, the most powerful detector of
fan and scale errors: with n samples, per-check level α' and target
kurtosis κ, the smallest relative std error found with probability 0.99 is

    δ = (z_{1-α'/2} + z_{0.99}) · sqrt((κ - 1) / n) / 2.

Example:
    >>> round(detectable_std_error(3.0, 131072, 1e-4), 4)   # normal, n = 2^17, α' = 1e-4
    0.0121
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kerasinit.mappings.distributions import Normal, TruncatedNormal, Uniform

__all__ = [
    "POWER",
    "Check",
    "Target",
    "ad_two_sample",
    "detectable_std_error",
    "exact_check",
    "holm",
    "ks_closed_form",
    "ks_two_sample",
    "mean_ztest",
    "orthogonality_check",
    "round_to_dtype",
    "support_check",
    "target_for",
    "variance_ztest",
    "z_critical",
]

#: power at which the detectable error is stated
POWER = 0.99
_AD_LEVELS = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])
#: SciPy 1.17's k = 2 critical values at those levels (fallback if the result lacks them)
_AD_CRIT_K2 = (0.325, 1.226, 1.961, 2.718, 3.752, 4.592, 6.546)


@dataclass(frozen=True)
class Check:
    """One row of a parity result.

    Attributes:
        name: what was checked (``"variance z (candidate)"``).
        statistic: the test statistic (z, D, A², or the worst deviation for exact checks).
        p_value: None for deterministic checks.
        threshold: the Holm threshold this p-value was compared with (None: deterministic).
        passed: the verdict.
        note: a short human explanation (bounds, tolerance, extrapolation).
    """

    name: str
    statistic: float
    p_value: float | None
    passed: bool
    threshold: float | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "FAIL"


@dataclass(frozen=True)
class Target:
    """An exact closed-form target: support, moments and a fast vectorised CDF."""

    kind: str
    mean: float
    var: float
    kurtosis: float
    low: float
    high: float
    params: tuple[float, ...]
    label: str

    def cdf(self, x: Any) -> Any:
        from scipy.special import ndtr

        if self.kind == "uniform":
            lo, hi = self.params
            return np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        if self.kind == "normal":
            mu, s = self.params
            return ndtr((x - mu) / s)
        mu, s, a, b = self.params  # truncated normal, a/b standardised
        fa, fb = float(ndtr(a)), float(ndtr(b))
        return np.clip((ndtr((x - mu) / s) - fa) / (fb - fa), 0.0, 1.0)

    def ppf(self, q: Any) -> Any:
        from scipy.special import ndtr, ndtri

        if self.kind == "uniform":
            lo, hi = self.params
            return lo + q * (hi - lo)
        if self.kind == "normal":
            mu, s = self.params
            return mu + s * ndtri(q)
        mu, s, a, b = self.params
        fa, fb = float(ndtr(a)), float(ndtr(b))
        return mu + s * ndtri(fa + q * (fb - fa))


def target_for(dist: object) -> Target | None:
    """The closed-form target of an elementwise distribution (None for structured ones)."""
    import scipy.stats as st

    if isinstance(dist, Uniform):
        lo, hi = dist.support
        return Target("uniform", dist.mean, (hi - lo) ** 2 / 12.0, 1.8, lo, hi, (lo, hi),
                      dist.formula())
    if isinstance(dist, Normal):
        s = abs(dist.std)
        return Target("normal", dist.mean, s * s, 3.0, -math.inf, math.inf, (dist.mean, s),
                      dist.formula())
    if isinstance(dist, TruncatedNormal):
        s = abs(dist.std)
        a, b = (dist.low - dist.mean) / s, (dist.high - dist.mean) / s
        frozen = st.truncnorm(a, b, loc=dist.mean, scale=s)
        mean, var, _, excess = (float(v) for v in frozen.stats(moments="mvsk"))
        return Target("truncnorm", mean, var, excess + 3.0, dist.low, dist.high,
                      (dist.mean, s, a, b), dist.formula())
    return None


def z_critical(alpha: float) -> float:
    """Two-sided normal critical value for level ``alpha``."""
    from scipy.special import ndtri

    return float(-ndtri(alpha / 2.0))


def detectable_std_error(kurtosis: float, n: int, alpha: float, power: float = POWER) -> float:
    """Smallest relative std error the variance z-test detects with ``power`` at level ``alpha``."""
    from scipy.special import ndtri

    z_power = float(ndtri(power))
    return (z_critical(alpha) + z_power) * math.sqrt((kurtosis - 1.0) / max(n, 1)) / 2.0


def round_to_dtype(value: float, dtype: str) -> float:
    """``value`` rounded to ``dtype`` (``"float32"`` …) the way Keras casts its bounds."""
    if not math.isfinite(value):
        return value
    return float(np.asarray(value, dtype=np.float64).astype(dtype).astype(np.float64))


def support_check(x: np.ndarray, target: Target, who: str, dtype: str = "float32") -> Check:
    """Every value finite and inside the target's support (bounds rounded to ``dtype``)."""
    lo, hi = round_to_dtype(target.low, dtype), round_to_dtype(target.high, dtype)
    finite = bool(np.isfinite(x).all())
    worst = float(max(lo - x.min(), x.max() - hi)) if finite and x.size else math.inf
    ok = finite and worst <= 0.0
    note = f"all in [{lo:.6g}, {hi:.6g}]" if ok else (
        "non-finite values" if not finite else f"{int(((x < lo) | (x > hi)).sum())} outside "
        f"[{lo:.6g}, {hi:.6g}]")
    return Check(f"support ({who})", worst if finite else math.inf, None, ok, note=note)


def mean_ztest(x: np.ndarray, target: Target, who: str) -> Check:
    """z = (x̄ − μ) / (σ / √n)."""
    from scipy.special import ndtr

    n = x.size
    z = (float(x.mean()) - target.mean) / math.sqrt(target.var / n) if target.var > 0 else 0.0
    return Check(f"mean z ({who})", z, float(2.0 * ndtr(-abs(z))), True)


def variance_ztest(x: np.ndarray, target: Target, who: str) -> Check:
    """z = (m₂ − σ²) / (σ² √((κ − 1)/n)), m₂ = mean((x − μ)²) about the known mean."""
    from scipy.special import ndtr

    n = x.size
    m2 = float(np.mean((x - target.mean) ** 2))
    se = target.var * math.sqrt((target.kurtosis - 1.0) / n)
    z = (m2 - target.var) / se if se > 0 else 0.0
    ratio = math.sqrt(m2 / target.var) if target.var > 0 else math.nan
    return Check(f"variance z ({who})", z, float(2.0 * ndtr(-abs(z))), True,
                 note=f"std ratio {ratio:.4f}")


def ks_closed_form(x: np.ndarray, target: Target, who: str) -> Check:
    """``scipy.stats.ks_1samp`` against the exact analytic CDF."""
    import scipy.stats as st

    r = st.ks_1samp(x, target.cdf)
    return Check(f"KS vs closed form ({who})", float(r.statistic), float(r.pvalue), True)


def ks_two_sample(x: np.ndarray, y: np.ndarray) -> Check:
    """Two-sample KS, candidate vs TensorFlow."""
    import scipy.stats as st

    r = st.ks_2samp(x, y)
    return Check("KS 2-sample vs TF", float(r.statistic), float(r.pvalue), True)


def ad_two_sample(x: np.ndarray, y: np.ndarray) -> Check:
    """Anderson–Darling k-sample (k = 2), candidate vs TensorFlow.

    SciPy floors the p-value at 0.001 (``scipy.stats.anderson_ksamp``). Below the floor the p-value is
    extrapolated log-linearly through SciPy's 0.5 % and 0.1 % critical values, so the statistic
    is compared with a critical value at the corrected level; the note says when that happened.
    The calibration run (``kerasinit parity --calibrate``) measures the resulting error rate.
    """
    import warnings

    import scipy.stats as st

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.anderson_ksamp([x, y])
    a2 = float(r.statistic)
    crit = np.asarray(getattr(r, "critical_values", _AD_CRIT_K2), dtype=float)
    note = ""
    if a2 <= crit[-1]:
        p = float(r.pvalue)
    else:
        slope = (math.log(_AD_LEVELS[-1]) - math.log(_AD_LEVELS[-2])) / (crit[-1] - crit[-2])
        p = float(math.exp(math.log(_AD_LEVELS[-1]) + slope * (a2 - crit[-1])))
        note = "p extrapolated below SciPy's 0.001 floor"
    return Check("Anderson-Darling 2-sample vs TF", a2, p, True, note=note)


def orthogonality_check(
    frames: Sequence[np.ndarray], gain: float, who: str, eps: float = 1.2e-7,
) -> Check:
    """Each Keras-flattened frame M (rows ≥ cols: MᵀM, else MMᵀ) equals gain²·I.

    Tolerance: 64·eps·√(max dim)·gain² (float32 QR error is a few eps per entry).
    """
    worst = 0.0
    tol = 0.0
    for m in frames:
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        err = float(np.abs(gram - gain * gain * np.eye(gram.shape[0])).max())
        worst = max(worst, err)
        tol = max(tol, 64.0 * eps * math.sqrt(max(m.shape)) * max(gain * gain, 1.0))
    axis = "columns" if frames and frames[0].shape[0] >= frames[0].shape[1] else "rows"
    return Check(f"orthogonality on Keras axis ({who})", worst, None, worst <= tol,
                 note=f"{len(frames)} frame(s), {axis} orthonormal×gain, max |G − g²I| "
                      f"{worst:.2e} (tol {tol:.1e})")


def exact_check(x: np.ndarray, expected: np.ndarray, name: str, rtol: float = 1e-6,
                atol: float = 1e-6) -> Check:
    """Elementwise equality within float32 rounding (Keras layout, deterministic inits)."""
    if x.shape != expected.shape:
        return Check(name, math.inf, None, False,
                     note=f"shape {x.shape} != expected {expected.shape}")
    err = float(np.abs(x - expected).max()) if x.size else 0.0
    tol = atol + rtol * (float(np.abs(expected).max()) if expected.size else 0.0)
    return Check(name, err, None, bool(np.isfinite(x).all()) and err <= tol,
                 note=f"max |Δ| {err:.2e} (tol {tol:.1e})")


def holm(checks: Sequence[Check], alpha: float) -> tuple[list[Check], float]:
    """Holm's step-down procedure over the checks with p-values, at family-wise ``alpha``.

    Returns the checks with ``threshold``/``passed`` set, and the case's adjusted p-value
    (the smallest Holm-adjusted p; 0.0 if a deterministic check failed, 1.0 if none exist).

    Example:
        >>> cs = [Check("a", 0, 0.001, True), Check("b", 0, 0.2, True)]
        >>> [c.passed for c in holm(cs, 0.01)[0]], holm(cs, 0.01)[1]
        ([False, True], 0.002)
    """
    stochastic = sorted((i for i, c in enumerate(checks) if c.p_value is not None),
                        key=lambda i: checks[i].p_value)  # type: ignore[arg-type, return-value]
    m = len(stochastic)
    out = list(checks)
    rejecting = True
    adjusted = 1.0
    running = 0.0
    for rank, i in enumerate(stochastic):
        p = float(checks[i].p_value)  # type: ignore[arg-type]
        thr = alpha / (m - rank)
        running = max(running, min(1.0, (m - rank) * p))
        adjusted = min(adjusted, running)
        rejecting = rejecting and p <= thr
        out[i] = replace(checks[i], threshold=thr, passed=not rejecting)
    if any(c.p_value is None and not c.passed for c in checks):
        adjusted = 0.0
    return out, adjusted
