"""Parity suite: prove kerasinit (or any torch initializer) against Keras's own TF samples.

``import kerasinit.parity`` does not import TensorFlow; the reference sampling imports it on
first use and raises :class:`ParityDependencyError` (install ``kerasinit[parity]``) when it is
missing. See ``docs/parity.md`` for the statistics (n, alpha, power) and measured figures.
"""

from collections.abc import Callable

from kerasinit.parity.cases import matrix as matrix
from kerasinit.parity.cases import mutants as mutants
from kerasinit.parity.cases import quick as quick
from kerasinit.parity.compare import DEFAULT_SAMPLES as DEFAULT_SAMPLES
from kerasinit.parity.compare import compare as compare
from kerasinit.parity.engine import Case as Case
from kerasinit.parity.engine import run_case as run_case
from kerasinit.parity.reference import ParityDependencyError as ParityDependencyError
from kerasinit.parity.report import write_report as _write
from kerasinit.parity.result import ParityResult as ParityResult
from kerasinit.parity.runner import Calibration as Calibration
from kerasinit.parity.runner import MatrixResult as MatrixResult
from kerasinit.parity.runner import calibrate as calibrate
from kerasinit.parity.runner import run_matrix as run_matrix
from kerasinit.parity.stats import Check as Check

__all__ = [
    "DEFAULT_SAMPLES",
    "Calibration",
    "Case",
    "Check",
    "MatrixResult",
    "ParityDependencyError",
    "ParityResult",
    "calibrate",
    "compare",
    "matrix",
    "mutants",
    "quick",
    "run_case",
    "run_matrix",
    "write_report",
]


def write_report(result: MatrixResult, directory: str,
                 progress: Callable[[int, int, str], None] | None = None) -> list[object]:
    """Write report.md + report.html (+ plots/) for a matrix run; see :mod:`.report`."""
    return list(_write(result, directory, progress=progress))
