"""Seed-faithful speed: kerasinit ``rng="tensorflow"`` vs TensorFlow's own stateless ops.

Run: ``python benchmarks/bench_rng.py [--size 4096] [--repeat 11] [--threads N]``. For a
size x size float32 tensor it times, alternately in the same run, ``tf.random.stateless_uniform
/ normal / truncated_normal`` (``.numpy()`` included), kerasinit's C kernels (the CPU path,
:mod:`kerasinit.bridge.rng.tensorflow`) and its NumPy fallback (``native.disabled()``), checks
all three are bit-identical, and prints a Markdown table of medians and ratios. The first call
of each (kerasinit's first in this process, before any warm run; TF's after its own first op)
is reported separately. Without TensorFlow it prints kerasinit's times only. Speed is
reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from kerasinit.bridge.rng import native
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
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy fallback")
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
    ops = [
        ("uniform", tfr.uniform, "stateless_uniform", (0.0, 1.0)),
        ("normal", tfr.normal, "stateless_normal", (0.0, 1.0)),
        ("truncated normal", tfr.truncated_normal, "stateless_truncated_normal", (0.0, 1.0)),
    ]
    mod = native.module("tf")
    variants = ("portable C", "AVX2", "AVX-512")
    kernels = f"on ({variants[mod.simd()]})" if mod is not None else "NOT BUILT"
    print(f"{args.size}x{args.size} float32, median of {args.repeat}, "
          f"torch threads {torch.get_num_threads()}, C kernels {kernels}\n")
    first: list[str] = []
    for label, ours, _, (a, b) in ops:  # kerasinit's first calls, before anything is warm
        start = time.perf_counter()
        ours(shape, SEED, a, b)
        first.append(f"{label} {(time.perf_counter() - start) * 1e3:.0f} ms")
    print("| op | TensorFlow | kerasinit (C) | C / TF (quartiles) | NumPy fallback | "
          "C / NumPy | bit-identical |")
    print("|---|---|---|---|---|---|---|")
    tf_first: list[str] = []
    for label, ours, tf_name, (a, b) in ops:
        def mine(f: Callable[..., torch.Tensor] = ours, a: float = a, b: float = b) -> object:
            return f(shape, SEED, a, b)

        def numpy_path(f: Callable[..., torch.Tensor] = ours, a: float = a,
                       b: float = b) -> torch.Tensor:
            with native.disabled():
                return f(shape, SEED, a, b)

        ref = mine()
        same = True
        if not args.no_numpy:
            same = bool(torch.equal(numpy_path(), ref))  # type: ignore[arg-type]
        theirs: Callable[[], object] | None = None
        if tf is not None:
            op = getattr(tf.random, tf_name)

            def theirs(op: Callable[..., object] = op) -> object:
                return op(shape, seed=list(SEED)).numpy()  # type: ignore[attr-defined]

            start = time.perf_counter()
            got = theirs()
            tf_first.append(f"{label} {(time.perf_counter() - start) * 1e3:.0f} ms")
            same = same and bool(torch.equal(torch.from_numpy(got), ref))  # type: ignore
        t_tf, t_ours, t_np = [], [], []
        for _ in range(args.repeat):  # alternate, so load drift hits all alike
            if theirs is not None:
                t_tf.append(_median(theirs, 1))
            t_ours.append(_median(mine, 1))
        for _ in range(0 if args.no_numpy else max(3, args.repeat // 3)):
            t_np.append(_median(numpy_path, 1))
        m_ours = statistics.median(t_ours)
        tf_cols = "- | -"
        if t_tf:
            # Each run is paired with the TF run just before it; the median of the paired
            # ratios and its quartiles show how much of a difference is load noise.
            ratios = sorted(o / t for o, t in zip(t_ours, t_tf, strict=True))
            q1, q2, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            tf_cols = f"{statistics.median(t_tf) * 1e3:.0f} ms | {q2:.2f}x ({q1:.2f}-{q3:.2f})"
        np_cols = "- | -"
        if t_np:
            m_np = statistics.median(t_np)
            np_cols = f"{m_np * 1e3:.0f} ms | {m_ours / m_np:.2f}x"
        tf_col, ratio_col = tf_cols.split(" | ")
        print(f"| {label} | {tf_col} | {m_ours * 1e3:.0f} ms | {ratio_col} | {np_cols} | "
              f"{'yes' if same else 'NO'} |")
    print(f"\nFirst calls, kerasinit (this process, nothing warm): {', '.join(first)}")
    if tf_first:
        print(f"First calls, TensorFlow (after import): {', '.join(tf_first)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
