"""Run a list of cases as one family: Holm within each case and across the matrix; calibration.

Multiple testing: a matrix of N cases at family-wise level α runs every case at α/N (Holm over
the case's own checks, so each check is compared with at most α/(N·m)); then Holm's step-down
procedure over the N case p-values decides which cases fail. A deterministic failure (support,
orthogonality, exact values, refusal) fails its case outright.

Calibration (:func:`calibrate`) runs the random cases with TensorFlow against TensorFlow (two
independent draws, so H0 holds) over many seeds and reports the observed false-alarm rates next
to the nominal levels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kerasinit.bridge.initializer import get
from kerasinit.mappings.errors import KerasInitError
from kerasinit.parity.engine import Case, check_run, run_case
from kerasinit.parity.result import ParityResult

__all__ = ["Calibration", "MatrixResult", "calibrate", "run_matrix"]

Progress = Callable[[int, int, str], None]


@dataclass
class MatrixResult:
    """Results of a matrix run."""

    results: list[ParityResult]
    alpha: float
    n: int
    seconds: float
    calibration: Calibration | None = None

    @property
    def cases(self) -> list[ParityResult]:
        return [r for r in self.results if not r.expect_fail]

    @property
    def mutants(self) -> list[ParityResult]:
        return [r for r in self.results if r.expect_fail]

    @property
    def passed(self) -> bool:
        """Every case passed and every mutant was detected."""
        return all(r.ok for r in self.results)

    def summary(self) -> str:
        cases, muts = self.cases, self.mutants
        fails = sum(not r.passed for r in cases)
        text = (f"{len(cases) - fails}/{len(cases)} cases pass at family-wise alpha = "
                f"{self.alpha:g} (Holm across cases, alpha/N = {self.alpha / max(1, len(self.results)):.3g} "
                f"per case)")
        if muts:
            text += f"; mutants detected: {sum(not r.passed for r in muts)}/{len(muts)}"
        return text + f"; {self.seconds:.1f} s"


def run_matrix(cases: Sequence[Case], *, n: int, alpha: float = 1e-3, seed: int = 0,
               progress: Progress | None = None) -> MatrixResult:
    """Run ``cases`` (regular cases and mutants) as one family at level ``alpha``."""
    check_run(list(cases) if isinstance(cases, list | tuple) else cases, n, alpha, seed)
    start = time.perf_counter()
    total = len(cases)
    alpha_case = alpha / max(1, total)
    results: list[ParityResult] = []
    for i, case in enumerate(cases):
        if progress is not None:
            progress(i, total, case.id)
        results.append(run_case(case, n=n, alpha=alpha_case, seed=seed))
    if progress is not None:
        progress(total, total, "done")
    return MatrixResult(_holm_across(results, alpha), alpha, n, time.perf_counter() - start)


def _holm_across(results: list[ParityResult], alpha: float) -> list[ParityResult]:
    """Holm over the case p-values; rejected cases are re-decided at their Holm level."""
    order = sorted(range(len(results)), key=lambda i: results[i].p_value)
    out = list(results)
    total = len(results)
    for rank, i in enumerate(order):
        level = alpha / (total - rank)
        r = results[i]
        if r.p_value > level:
            break
        if r.error is None and r.checks and level > r.alpha:
            out[i] = r.with_alpha(level)
    return out


@dataclass
class Calibration:
    """Observed false-alarm rates under H0 (TF vs TF)."""

    seeds: int
    case_runs: int
    levels: tuple[float, ...]
    case_rates: dict[float, float]
    check_rates: dict[str, tuple[int, float]] = field(default_factory=dict)
    matrix_alarms: int = 0
    matrix_alpha: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"calibration: {self.seeds} seeds x {self.case_runs // max(1, self.seeds)} "
                 f"cases = {self.case_runs} TF-vs-TF case runs ({self.seconds:.0f} s)",
                 "  level (nominal)  observed case false-alarm rate (Holm within case)"]
        for lv in self.levels:
            lines.append(f"  {lv:<15g}  {self.case_rates[lv]:.4f}")
        lines.append(f"  matrix (Holm across cases, alpha = {self.matrix_alpha:g}): "
                     f"{self.matrix_alarms}/{self.seeds} seeds with any false alarm")
        lines.append("  per check type: fraction of p-values <= 0.01 (nominal 0.01)")
        for name, (count, rate) in sorted(self.check_rates.items()):
            lines.append(f"    {name:<36} {rate:.4f}  ({count} p-values)")
        return "\n".join(lines)


def _check_kind(name: str) -> str:
    return re.sub(r"^block \d+: ", "", name)


def calibrate(cases: Sequence[Case], *, n: int, seeds: int, alpha: float = 1e-3,
              levels: tuple[float, ...] = (1e-3, 1e-2, 5e-2),
              progress: Progress | None = None) -> Calibration:
    """Run the random cases TF vs TF over ``seeds`` seeds; count false alarms."""
    check_run(list(cases) if isinstance(cases, list | tuple) else cases, n, alpha, 0)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise KerasInitError(f"parity: seeds must be an int >= 1; received {seeds!r:.40}.")
    start = time.perf_counter()
    random_cases = [c for c in cases if not c.expect_fail and _is_random(c)]
    total = len(random_cases) * seeds
    hits = dict.fromkeys(levels, 0)
    per_check: dict[str, list[int]] = {}
    matrix_alarms, done = 0, 0
    for s in range(seeds):
        ps = []
        for case in random_cases:
            if progress is not None:
                progress(done, total, f"seed {s} {case.id}")
            r = run_case(case, n=n, alpha=alpha, seed=10_000 + 17 * s, calibrate=True,
                         keep_quantiles=False)
            done += 1
            ps.append(r.p_value)
            for lv in levels:
                hits[lv] += r.p_value <= lv
            for c in r.checks:
                if c.p_value is not None:
                    kind = _check_kind(c.name)
                    cnt = per_check.setdefault(kind, [0, 0])
                    cnt[0] += 1
                    cnt[1] += c.p_value <= 0.01
        m = len(ps)
        matrix_alarms += bool(ps) and min(ps) <= alpha / m  # Holm rejects anything iff this
    if progress is not None:
        progress(total, total, "done")
    runs = max(1, len(random_cases) * seeds)
    return Calibration(seeds, runs, levels, {lv: hits[lv] / runs for lv in levels},
                       {k: (v[0], v[1] / max(1, v[0])) for k, v in per_check.items()},
                       matrix_alarms, alpha, time.perf_counter() - start)


def _is_random(case: Case) -> bool:
    try:
        return bool(get(case.reference, keras_version=case.keras_version).spec.is_random)
    except KerasInitError:
        return False
