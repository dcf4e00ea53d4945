""":class:`ParityResult`: the outcome of one parity case, printable as a small table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from kerasinit._text import text_table
from kerasinit.parity.stats import POWER, Check, holm

__all__ = ["ParityResult", "Quantiles", "ks_band"]


@dataclass(frozen=True)
class Quantiles:
    """Compact samples for plots (Keras-layout values), computed from the full samples.

    Attributes:
        probs: the probability grid (``points`` midpoints).
        candidate, reference, closed_form: quantiles at ``probs`` (None where absent).
        grid: the points where the ECDFs are compared (the pooled quantiles at ``probs``).
        ecdf_diff: candidate ECDF − reference ECDF at ``grid``, from the full samples.
        closed_diff: closed-form CDF − reference ECDF at ``grid`` (None without a CDF).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> q = Quantiles.of(rng.uniform(size=1000), rng.uniform(size=1000), points=8)
        >>> q.grid.shape, bool(abs(q.ecdf_diff).max() < 0.1)
        ((8,), True)
    """

    probs: np.ndarray
    candidate: np.ndarray | None
    reference: np.ndarray | None
    closed_form: np.ndarray | None
    grid: np.ndarray | None = None
    ecdf_diff: np.ndarray | None = None
    closed_diff: np.ndarray | None = None

    @staticmethod
    def of(candidate: np.ndarray | None, reference: np.ndarray | None,
           ppf: Any = None, points: int = 512, cdf: Any = None) -> Quantiles:
        probs = (np.arange(points) + 0.5) / points
        def q(x: np.ndarray | None) -> np.ndarray | None:
            return None if x is None or x.size == 0 else np.quantile(x, probs)
        closed = None if ppf is None else np.asarray(ppf(probs), dtype=float)
        grid = diff = closed_diff = None
        if candidate is not None and reference is not None and candidate.size and reference.size:
            c, r = np.sort(candidate.ravel()), np.sort(reference.ravel())
            grid = np.unique(np.quantile(np.concatenate([c, r]), probs))
            f_ref = np.searchsorted(r, grid, side="right") / r.size
            diff = np.searchsorted(c, grid, side="right") / c.size - f_ref
            if cdf is not None:
                closed_diff = np.asarray(cdf(grid), dtype=float) - f_ref
        return Quantiles(probs, q(candidate), q(reference), closed, grid, diff, closed_diff)


def ks_band(n: int, m: int, alpha: float) -> float:
    """Half-width of the two-sample DKW/KS band for ECDF differences at level ``alpha``.

    Under parity, ``sup |F_n - G_m| <= sqrt(ln(2/alpha)/2 * (1/n + 1/m))`` with probability
    about ``1 - alpha`` (the asymptotic two-sample Kolmogorov-Smirnov bound; DKW's constant).

    Example:
        >>> round(ks_band(2**17, 2**17, 1e-3), 5)
        0.00762
    """
    if n <= 0 or m <= 0 or not 0 < alpha < 1:
        return float("nan")
    return math.sqrt(math.log(2 / alpha) / 2 * (1 / n + 1 / m))


@dataclass(frozen=True)
class ParityResult:
    """Parity of one candidate initializer with Keras's own samples on one tensor.

    Attributes:
        case: case id (``"he_normal/conv2d/3"``).
        reference: the Keras initializer (canonical name) and its config.
        candidate: what was tested (``"kerasinit"``, a callable's name, a mutant).
        keras_version: the Keras semantics (``"Keras 3.15 (latest)"``).
        reference_library: which library drew the reference (``"Keras 3.15.1 on TensorFlow"``).
        shape: the torch tensor shape; layout: the layout name; keras_shape: the Keras shape.
        distribution: the closed-form target (kerasinit's resolution, verified against TF).
        checks: every check with statistic, p-value, Holm threshold and verdict.
        n: candidate sample size (per block); n_reference: TF sample size (per block).
        alpha: family-wise level of this case (Holm within the case).
        detectable_error: smallest relative std error detected with power 0.99 (variance
            z-test at the first Holm threshold); None for structured/deterministic targets.
        error: why the case could not run (candidate raised, wrong shape, ...), else None.
        p_value: the case's Holm-adjusted p-value (smallest adjusted p; 0 for a deterministic
            failure); used for Holm across a matrix.
        expect_fail: True for a planted wrong mapping (a mutant): it is *detected* when it fails.
        seconds: wall time of the case.
    """

    case: str
    reference: str
    candidate: str
    keras_version: str
    reference_library: str
    shape: tuple[int, ...]
    layout: str
    keras_shape: tuple[int, ...]
    distribution: str
    checks: tuple[Check, ...]
    n: int
    n_reference: int
    alpha: float
    detectable_error: float | None
    error: str | None = None
    p_value: float = 1.0
    expect_fail: bool = False
    family: str = ""
    seconds: float = 0.0
    power_note: str = ""
    quantiles: Quantiles | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        """True iff the candidate ran and every check passed."""
        return self.error is None and all(c.passed for c in self.checks)

    @property
    def ok(self) -> bool:
        """As expected: passed for a normal case, detected (failed) for a mutant."""
        return self.passed != self.expect_fail

    @property
    def status(self) -> str:
        if self.expect_fail:
            return "detected" if not self.passed else "MISSED"
        if self.error is not None:
            return "ERROR"
        return "pass" if self.passed else "FAIL"

    def with_alpha(self, alpha: float) -> ParityResult:
        """Re-decide the stochastic checks with Holm at a new family-wise ``alpha``."""
        checks, p = holm(self.checks, alpha)
        return replace(self, checks=tuple(checks), alpha=alpha, p_value=p)

    def power_text(self) -> str:
        if self.detectable_error is not None:
            return (f"detects a {100 * self.detectable_error:.2f} % std error with power "
                    f"{POWER:g}")
        return self.power_note or "deterministic checks"

    def __str__(self) -> str:
        head = (f"{self.status.upper()}: {self.reference} vs {self.candidate} on torch "
                f"{self.shape} [{self.layout}] = Keras {self.keras_shape}, {self.keras_version}\n"
                f"  target {self.distribution}\n"
                f"  reference: {self.reference_library}; n = {self.n} (candidate), "
                f"{self.n_reference} (TF); alpha = {self.alpha:.3g} (Holm); {self.power_text()}")
        if self.error is not None:
            return head + f"\n  error: {self.error}"
        rows = [("check", "statistic", "p-value", "threshold", "verdict")]
        for c in self.checks:
            rows.append((c.name, _fmt(c.statistic), "-" if c.p_value is None else _fmt(c.p_value),
                         "-" if c.threshold is None else _fmt(c.threshold),
                         c.verdict + (f"  ({c.note})" if c.note else "")))
        return head + "\n" + "\n".join(text_table(rows[0], rows[1:], rule=False, indent="  "))


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    if x == 0 or (1e-3 <= abs(x) < 1e4):
        return f"{x:.4g}"
    return f"{x:.3e}"
