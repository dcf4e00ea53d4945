"""``kerasinit parity``: run the parity matrix against TensorFlow; exit code 0 iff all pass."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TextIO

from kerasinit._text import text_table
from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.versions import parse_version
from kerasinit.parity import cases as cases_mod
from kerasinit.parity.compare import DEFAULT_SAMPLES
from kerasinit.parity.reference import check_dependencies, keras_module
from kerasinit.parity.report import write_report
from kerasinit.parity.runner import calibrate, run_matrix

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``kerasinit parity``."""
    parser.add_argument("--quick", action="store_true",
                        help="fast subset (every distribution family, layout class, version)")
    parser.add_argument("--only", metavar="PATTERN",
                        help="cases whose id matches (glob, or substring), e.g. 'he_normal/*/2'")
    parser.add_argument("--keras-version", action="append", metavar="V",
                        choices=(*cases_mod.VERSIONS, *cases_mod.COVERED_BY),
                        help="restrict to Keras version(s): 3 (3.15), 3.14, 2 (tf_keras); 3.16 "
                             "runs the 3 cases, which it draws alike (repeatable)")
    parser.add_argument("--report", metavar="DIR",
                        help="write DIR/report.md and DIR/report.html with ECDF/QQ plots")
    parser.add_argument("--mutants", action="store_true",
                        help="also run the deliberately wrong mappings (each must be detected)")
    parser.add_argument("--calibrate", type=_int_in(0, 1 << 20), nargs="?", const=20, default=0,
                        metavar="SEEDS",
                        help="TF vs TF over SEEDS seeds (default 20): observed false-alarm rate")
    parser.add_argument("--samples", type=_int_in(1, 1 << 31), default=None, metavar="N",
                        help="values per side and case (default 2^17)")
    parser.add_argument("--alpha", type=_probability, default=1e-3,
                        help="family-wise level of the whole run (default 1e-3)")
    parser.add_argument("--seed", type=_int_in(0, (1 << 32) - 1), default=0,
                        help="seed of the run (default 0)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case's checks")


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an int in [low, high] (argparse reports anything else, exit 2)."""
    def parse(text: str) -> int:
        value = int(text)  # ValueError: argparse says "invalid int value"
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value
    parse.__name__ = "int"
    return parse


def _probability(text: str) -> float:
    """An argparse type: a level in (0, 1)."""
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


class Bar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream, self.width, self.start = stream, width, time.perf_counter()
        self.tty = stream.isatty()
        self.last = -1

    def __call__(self, done: int, total: int, label: str) -> None:
        frac = done / max(1, total)
        filled = int(self.width * frac)
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} "
                f"{time.perf_counter() - self.start:5.1f}s {label[:50]}")
        if self.tty:
            self.stream.write("\r" + line.ljust(110) + ("\n" if done >= total else ""))
        elif int(10 * frac) != self.last or done >= total:
            self.last = int(10 * frac)
            self.stream.write(line + "\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    """Run the matrix; print the summary table; return 0 iff every case passes."""
    try:
        cases = cases_mod.quick() if args.quick else cases_mod.matrix()
        if args.keras_version:
            wanted = set(args.keras_version)
            for covered, by in cases_mod.COVERED_BY.items():
                if covered in wanted:
                    wanted.add(by)
                    print(f"note: Keras {covered} draws every case as Keras {by} does; running "
                          f"the {by!r} cases", file=sys.stderr)
            cases = [c for c in cases if c.keras_version in wanted]
        cases = cases_mod.select(cases, args.only)
        if args.mutants or (args.quick and not args.only):
            cases = cases + cases_mod.select(cases_mod.mutants(), args.only)
        if not cases:
            print(f"no case matches --only {args.only!r}", file=sys.stderr)
            return 2
        versions = {parse_version(c.keras_version) for c in cases}
        report = bool(args.report) and not args.calibrate
        # every optional dependency is checked (and all missing ones named) before any work
        feature = "the parity suite" + (" with --report" if report else "")
        check_dependencies(feature, versions, report)
        for version in sorted(versions, key=lambda v: v.label()):
            keras_module(version)  # import TensorFlow now: its log lines come before the bar
        n = args.samples or DEFAULT_SAMPLES
        if args.calibrate:
            cal = calibrate(cases, n=n, seeds=args.calibrate, alpha=args.alpha, progress=Bar())
            print(cal.summary())
            return 0
        result = run_matrix(cases, n=n, alpha=args.alpha, seed=args.seed, progress=Bar())
    except KerasInitError as exc:
        print(f"kerasinit parity: {exc}", file=sys.stderr)
        return 2
    print(table(result.results))
    if args.verbose:
        for r in result.results:
            print(f"\n{r}")
    else:
        for r in result.results:
            if not r.ok:
                print(f"\n{r}")
    if args.report:
        paths = write_report(result, args.report, progress=Bar())
        print(f"report: {', '.join(str(p) for p in paths)}")
    print(result.summary())
    return 0 if result.passed else 1


def table(results: list) -> str:  # type: ignore[type-arg]
    """The summary table: one line per case."""
    rows = [("case", "status", "n", "min p (Holm)", "detects (0.99)", "s")]
    for r in results:
        det = "-" if r.detectable_error is None else f"{100 * r.detectable_error:.2f} %"
        rows.append((r.case, r.status, str(r.n), f"{r.p_value:.2e}", det, f"{r.seconds:.2f}"))
    return "\n".join(text_table(rows[0], rows[1:], rule=False))
