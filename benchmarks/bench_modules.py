"""Module-level speed: ``keras_defaults_`` / ``initialize`` on a BERT-base-size model, as a ratio.

Run: ``python benchmarks/bench_modules.py [--scale 1.0] [--repeat 5]``. The model: word and
position embeddings (30522×768, 512×768), 12 ``nn.TransformerEncoderLayer(768, 12, 3072)``
and a 768×768 pooler (``--scale`` shrinks every width for quick runs). The baseline is what torch
spends constructing that model with its own default initialization, timed alternately with
the kerasinit calls in the same run (median of ``--repeat``):

* construct: ``Bert()`` (allocation + torch's default init);
* ``keras_defaults_(model)``: Keras defaults on the already-built model;
* ``initialize(model, kernel_initializer="glorot_uniform", ...)``: the same initializers named
  by keyword;
* ``initialize(model, kernel_initializer="he_normal")``: a truncated normal (an inverse-CDF
  pass per weight, about 1.2x a plain ``normal_``) for comparison.

No assertion is made on time; ``tests/benchmarks/test_benchmarks.py`` only checks that it runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

import kerasinit


class Bert(nn.Module):
    """BERT-base shapes (no forward needed: only the parameters matter here)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        width, heads = max(12, int(768 * scale) // 12 * 12), 12
        self.word = nn.Embedding(max(8, int(30522 * scale)), width)
        self.position = nn.Embedding(max(8, int(512 * scale)), width)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(width, heads, max(8, int(3072 * scale)), batch_first=True)
            for _ in range(12))
        self.pooler = nn.Linear(width, width)


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(scale: float, repeat: int) -> dict[str, float]:
    """Median seconds of each step, timed alternately."""
    model = Bert(scale)
    steps: dict[str, Callable[[], object]] = {
        "torch: construct Bert() with torch's default init": lambda: Bert(scale),
        "kerasinit.keras_defaults_(model)": lambda: kerasinit.keras_defaults_(model),
        "kerasinit.initialize(model, glorot_uniform kernels, zeros biases, ...)":
            lambda: kerasinit.initialize(
                model, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                embeddings_initializer="uniform", gamma_initializer="ones",
                beta_initializer="zeros"),
        "kerasinit.initialize(model, kernel_initializer='he_normal')":
            lambda: kerasinit.initialize(model, kernel_initializer="he_normal"),
    }
    for fn in steps.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(repeat):
        for name, fn in steps.items():
            times[name].append(_time(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    medians = measure(args.scale, args.repeat)
    base = next(iter(medians.values()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, scale {args.scale}, "
          f"median of {args.repeat}\n")
    print("| step | ms | × torch construct |\n|---|---:|---:|")
    for name, t in medians.items():
        print(f"| {name} | {1e3 * t:.1f} | {t / base:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
