"""Core sampler speed, as ratios against torch.nn.init baselines measured in the same run.

Run: ``python benchmarks/bench_core.py [--size 4096] [--repeat 7]``. Prints a Markdown table:
median wall time per call and the ratio to the named torch baseline (lower is better). No
assertion is made on time; ``tests/`` only checks that the script runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import torch

import kerasinit

Case = tuple[str, Callable[[torch.Tensor], object], str]


def _paired_medians(fn: Callable[[], object], base: Callable[[], object],
                    repeat: int) -> tuple[float, float]:
    """Median seconds of ``fn`` and ``base``, timed alternately so drift hits both alike."""
    fn(), base()  # warm-up (lazy imports, plan cache)
    t_fn, t_base = [], []
    for _ in range(repeat):
        for f, out in ((base, t_base), (fn, t_fn)):
            start = time.perf_counter()
            f()
            out.append(time.perf_counter() - start)
    return statistics.median(t_fn), statistics.median(t_base)


def cases(std: float) -> list[Case]:
    """(label, fill, baseline label); baselines are the torch calls people use instead."""
    nn_init = torch.nn.init
    return [
        ("torch normal_ (baseline)", lambda w: w.normal_(0.0, std), ""),
        ("torch uniform_ (baseline)", lambda w: w.uniform_(-std, std), ""),
        ("torch kaiming_normal_ (untruncated)", lambda w: nn_init.kaiming_normal_(w), "torch normal_ (baseline)"),
        ("torch trunc_normal_ (±2σ relative)",
         lambda w: nn_init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std), "torch normal_ (baseline)"),
        ("kerasinit he_normal_", kerasinit.he_normal_, "torch normal_ (baseline)"),
        ("kerasinit truncated_normal_", kerasinit.truncated_normal_, "torch normal_ (baseline)"),
        ("kerasinit glorot_uniform_", kerasinit.glorot_uniform_, "torch uniform_ (baseline)"),
        ("torch xavier_uniform_", nn_init.xavier_uniform_, "torch uniform_ (baseline)"),
        ("kerasinit get('he_normal') cached", kerasinit.get("he_normal"), "torch normal_ (baseline)"),
    ]


def run(size: int, repeat: int, small: int = 64) -> list[tuple[str, float, float, float, float]]:
    """Rows: label, big median s, ratio to its baseline, small median µs, small ratio."""
    big, tiny = torch.empty(size, size), torch.empty(small, small)
    table = cases((2.0 / size) ** 0.5)
    fills = {label: fill for label, fill, _ in table}
    results = []
    for label, fill, baseline in table:
        base = fills[baseline or label]
        t_big, b_big = _paired_medians(partial(fill, big), partial(base, big), repeat)
        t_small, b_small = _paired_medians(partial(fill, tiny), partial(base, tiny),
                                           repeat * 50)
        results.append((label, t_big, t_big / b_big, t_small * 1e6, t_small / b_small))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.size}x{args.size} float32 and 64x64, median of {args.repeat}")
    print("| call | ms (big) | × baseline | µs (64²) | × baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, t_big, r_big, us_small, r_small in run(args.size, args.repeat):
        print(f"| {label} | {t_big * 1e3:.1f} | {r_big:.2f} | {us_small:.1f} | {r_small:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
