"""Seed-faithful speed: kerasinit ``rng="tensorflow"`` vs TensorFlow's own stateless ops.

Run: ``python benchmarks/bench_rng.py [--size 4096] [--repeat 11] [--threads N]``. For a
size x size float32 tensor it times, alternately in the same run, ``tf.random.stateless_uniform
/ normal / truncated_normal`` (``.numpy()`` included) and kerasinit's torch reimplementation
(:mod:`kerasinit.bridge.rng.tensorflow`), checks the two are bit-identical, and prints a
Markdown table of medians and ratios, plus the one-off Box-Muller table build time. Without
TensorFlow it prints kerasinit's times only. Speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from kerasinit.bridge.rng import libm
from kerasinit.bridge.rng import tensorflow as tfr

SEED = (42, 0)


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--no-tf", action="store_true", help="skip TensorFlow even if installed")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    shape = (args.size, args.size)
    tf = None
    if not args.no_tf:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import tensorflow as tf
        except ImportError:
            tf = None
    start = time.perf_counter()
    if args.size**2 >= libm.BoxMuller.TABLE_THRESHOLD:  # smaller tensors never use the tables
        libm.BoxMuller._get_tables(torch.device("cpu"))
    build = time.perf_counter() - start
    ops = [
        ("uniform", tfr.uniform, "stateless_uniform", (0.0, 1.0)),
        ("normal", tfr.normal, "stateless_normal", (0.0, 1.0)),
        ("truncated normal", tfr.truncated_normal, "stateless_truncated_normal", (0.0, 1.0)),
    ]
    print(f"{args.size}x{args.size} float32, median of {args.repeat}, "
          f"torch threads {torch.get_num_threads()}\n")
    print("| op | TensorFlow | kerasinit rng='tensorflow' | ratio (quartiles) | bit-identical |")
    print("|---|---|---|---|---|")
    for label, ours, tf_name, (a, b) in ops:
        def mine(f: Callable[..., torch.Tensor] = ours, a: float = a, b: float = b) -> object:
            return f(shape, SEED, a, b)

        if tf is None:
            t = _median(mine, args.repeat)
            print(f"| {label} | - | {t * 1e3:.0f} ms | - | - |")
            continue
        op = getattr(tf.random, tf_name)

        def theirs(op: Callable[..., object] = op) -> object:
            return op(shape, seed=list(SEED)).numpy()  # type: ignore[attr-defined]

        same = bool(torch.equal(torch.from_numpy(theirs()), mine()))  # type: ignore[arg-type]
        t_tf, t_ours = [], []
        for _ in range(args.repeat):  # alternate, so load drift hits both alike
            t_tf.append(_median(theirs, 1))
            t_ours.append(_median(mine, 1))
        m_tf, m_ours = statistics.median(t_tf), statistics.median(t_ours)
        # Each run is paired with the TF run just before it; the median of the paired ratios
        # and its quartiles show how much of a difference is load noise.
        ratios = sorted(o / t for o, t in zip(t_ours, t_tf, strict=True))
        q1, q2, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(f"| {label} | {m_tf * 1e3:.0f} ms | {m_ours * 1e3:.0f} ms | "
              f"{q2:.2f}x ({q1:.2f}-{q3:.2f}) | {'yes' if same else 'NO'} |")
    print(f"\nBox-Muller tables (3 x 2^23 float32, once per process/device): {build:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
