"""Parity suite: prove kerasinit (or any torch initializer) against Keras's own TF samples.

``import kerasinit.parity`` does not import TensorFlow; the reference sampling imports it on
first use and raises :class:`ParityDependencyError` (install ``kerasinit[parity]``) when it is
missing. See ``docs/parity.md`` for the statistics (n, alpha, power) and measured figures.
"""

from kerasinit.parity.compare import DEFAULT_SAMPLES as DEFAULT_SAMPLES
from kerasinit.parity.compare import compare as compare
from kerasinit.parity.engine import Case as Case
from kerasinit.parity.engine import run_case as run_case
from kerasinit.parity.reference import ParityDependencyError as ParityDependencyError
from kerasinit.parity.result import ParityResult as ParityResult
from kerasinit.parity.stats import Check as Check

__all__ = [
    "DEFAULT_SAMPLES",
    "Case",
    "Check",
    "ParityDependencyError",
    "ParityResult",
    "compare",
    "run_case",
]
