"""Core sampler speed, as ratios against torch baselines measured in the same run.

Run: ``python benchmarks/bench_core.py [--size 4096] [--repeat 7] [--device cuda]``. Prints
Markdown tables (with ``--device cuda``: only table 1, on the GPU, synchronising around every
call):

1. big (size²) and small (64²) float32 tensors: median time per call and the ratio to the
   equivalent raw torch op (``normal_``/``uniform_``) timed alternately in the same run;
2. per-call overhead on a 1-element tensor (kerasinit call minus the raw op);
3. ``import kerasinit`` cost beyond ``import torch`` (fresh interpreters);
4. when TensorFlow is installed: the "sample in Keras/TF, transpose, copy" route for comparison.

No assertion is made on time; ``tests/benchmarks/test_benchmarks.py`` only checks that the script runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

import torch

import kerasinit

Case = tuple[str, Callable[[torch.Tensor], object], str]
NORMAL, UNIFORM = "torch normal_ (baseline)", "torch uniform_ (baseline)"


def _no_sync() -> None:
    return None


def _paired_medians(fn: Callable[[], object], base: Callable[[], object],
                    repeat: int, sync: Callable[[], None] = _no_sync) -> tuple[float, float]:
    """Median seconds of ``fn`` and ``base``, timed alternately so drift hits both alike.

    ``sync`` waits for queued device work (``torch.cuda.synchronize`` on a GPU)."""
    fn(), base()  # warm-up (lazy imports, plan cache)
    sync()
    t_fn, t_base = [], []
    for _ in range(repeat):
        for f, out in ((base, t_base), (fn, t_fn)):
            start = time.perf_counter()
            f()
            sync()
            out.append(time.perf_counter() - start)
    return statistics.median(t_fn), statistics.median(t_base)


def cases(std: float) -> list[Case]:
    """(label, fill, baseline label); baselines are the raw torch ops of the same family."""
    nn_init = torch.nn.init
    return [
        (NORMAL, lambda w: w.normal_(0.0, std), ""),
        (UNIFORM, lambda w: w.uniform_(-std, std), ""),
        ("kerasinit random_normal_", kerasinit.random_normal_, NORMAL),
        ("kerasinit random_uniform_", kerasinit.random_uniform_, UNIFORM),
        ("kerasinit glorot_uniform_", kerasinit.glorot_uniform_, UNIFORM),
        ("kerasinit he_uniform_", kerasinit.he_uniform_, UNIFORM),
        ("kerasinit he_normal_ (±2σ truncated)", kerasinit.he_normal_, NORMAL),
        ("kerasinit truncated_normal_", kerasinit.truncated_normal_, NORMAL),
        ("kerasinit get('he_normal') (cached object)", kerasinit.get("he_normal"), NORMAL),
        ("torch kaiming_normal_ (untruncated, not Keras)", nn_init.kaiming_normal_, NORMAL),
        ("torch xavier_uniform_", nn_init.xavier_uniform_, UNIFORM),
        ("torch trunc_normal_(a=-2σ, b=2σ)",
         lambda w: nn_init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std), NORMAL),
    ]


def run(size: int, repeat: int, small: int = 64,
        device: str = "cpu") -> list[tuple[str, float, float, float, float]]:
    """Rows: label, big median s, ratio to its baseline, small median µs, small ratio."""
    big = torch.empty(size, size, device=device)
    tiny = torch.empty(small, small, device=device)
    sync = torch.cuda.synchronize if big.is_cuda else _no_sync
    table = cases((2.0 / size) ** 0.5)
    fills = {label: fill for label, fill, _ in table}
    results = []
    for label, fill, baseline in table:
        base = fills[baseline or label]
        t_big, b_big = _paired_medians(partial(fill, big), partial(base, big), repeat, sync)
        t_small, b_small = _paired_medians(partial(fill, tiny), partial(base, tiny),
                                           repeat * 50, sync)
        results.append((label, t_big, t_big / b_big, t_small * 1e6, t_small / b_small))
    return results


def overhead_us(repeat: int) -> list[tuple[str, float]]:
    """Per-call cost on a 1-element tensor minus the raw torch op, in microseconds."""
    one = torch.empty(1)
    pairs = [
        ("random_uniform_", partial(kerasinit.random_uniform_, one), partial(one.uniform_)),
        ("glorot_uniform_", partial(kerasinit.glorot_uniform_, one), partial(one.uniform_)),
        ("random_normal_", partial(kerasinit.random_normal_, one), partial(one.normal_)),
        ("he_normal_", partial(kerasinit.he_normal_, one), partial(one.normal_)),
    ]
    out = []
    for label, fn, base in pairs:
        t, b = _paired_medians(fn, base, repeat * 200)
        out.append((label, (t - b) * 1e6))
    return out


def import_cost_ms(repeat: int) -> float:
    """Median of (import torch, kerasinit) minus (import torch), fresh interpreters."""
    def child(code: str) -> float:
        src = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
        return float(subprocess.run([sys.executable, "-c", src], check=True,
                                    capture_output=True, text=True).stdout)
    both = [child("import torch, kerasinit") for _ in range(repeat)]
    alone = [child("import torch") for _ in range(repeat)]
    return (statistics.median(both) - statistics.median(alone)) * 1e3


def tensorflow_route(size: int, repeat: int) -> tuple[float, float] | None:
    """(ms of Keras HeNormal in TF + transpose + copy into torch, ms of kerasinit he_normal_)."""
    try:
        import os

        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras  # type: ignore[import-untyped]
    except ImportError:
        return None
    w = torch.empty(size, size)
    keras_init = keras.initializers.HeNormal()

    def via_tf() -> None:
        w.copy_(torch.from_numpy(keras_init((size, size)).numpy()).T)

    t_tf, t_ki = _paired_medians(via_tf, partial(kerasinit.he_normal_, w), repeat)
    return t_tf * 1e3, t_ki * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-tf", action="store_true", help="skip the TensorFlow route")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args(argv)
    if args.device != "cpu" and not torch.cuda.is_available():
        print(f"--device {args.device}: no CUDA device (torch.cuda.is_available() is False)")
        return 2
    where = (torch.cuda.get_device_name() if args.device != "cpu"
             else f"{torch.get_num_threads()} threads")
    print(f"torch {torch.__version__}, {where}, float32, "
          f"median of {args.repeat} (x50 for 64²)\n")
    print(f"| call | ms ({args.size}²) | × baseline | µs (64²) | × baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, t_big, r_big, us_small, r_small in run(args.size, args.repeat,
                                                      device=args.device):
        print(f"| {label} | {t_big * 1e3:.1f} | {r_big:.2f} | {us_small:.1f} | {r_small:.2f} |")
    if args.device != "cpu":
        return 0
    print("\n| per-call overhead, 1-element tensor | µs over the raw op |\n|---|---:|")
    for label, us in overhead_us(args.repeat):
        print(f"| kerasinit {label} | {us:.1f} |")
    print(f"\n`import kerasinit` beyond `import torch`: {import_cost_ms(3):.0f} ms")
    route = None if args.no_tf else tensorflow_route(args.size, max(3, args.repeat // 2))
    if route is not None:
        t_tf, t_ki = route
        print(f"\nKeras HeNormal sampled in TF + transpose + copy: {t_tf:.1f} ms; "
              f"kerasinit he_normal_: {t_ki:.1f} ms ({t_tf / t_ki:.1f}× faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
