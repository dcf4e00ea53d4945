"""Peak extra memory of every initializer × rng, each measured in a fresh process.

``python benchmarks/bench_memory.py`` (``--quick`` for a subset). For each case a child process
allocates and touches the tensor, makes one tiny call (imports, lazy modules), then measures the
peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``) of a first full-size
call and of a second (warm) one, above the resident size just before the call. The figure is
that extra peak as a multiple of the tensor's own size (0.10 = 10 % of the tensor).

glibc is told to serve every allocation above 64 KiB with ``mmap`` and to give it back at
``free`` (``MALLOC_MMAP_THRESHOLD_``), so memory freed by the first call does not hide the
second call's peak. Linux only (``/proc``). Memory is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence

CHILD = r"""
import json, sys
import torch
import kerasinit

name, rng, rows, cols, dtype_name = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
dtype = getattr(torch, dtype_name)

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)

def reset_peak():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

base_init = kerasinit.get(name)
seed = 1 if base_init.spec.is_random else None
init = kerasinit.get(name, seed=seed, rng=rng if seed is not None else "torch")
layout = "torch"
if name == "stft":
    rows, cols = 129, 256
    t = torch.zeros(rows, 1, cols, dtype=dtype)
else:
    t = torch.zeros(rows, cols, dtype=dtype)
init(torch.zeros(8, 1, 8, dtype=dtype) if name == "stft" else torch.zeros(8, 8, dtype=dtype))
out = {"tensor_bytes": t.numel() * t.element_size()}
for label in ("first", "warm"):
    reset_peak()
    before = status("VmRSS")
    init(t)
    out[label] = max(status("VmHWM") - before, 0)
print(json.dumps(out))
"""

RANDOM = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
          "lecun_normal", "random_uniform", "random_normal", "truncated_normal",
          "variance_scaling", "orthogonal"]
DETERMINISTIC = ["zeros", "ones", "constant", "identity"]


def _rngs() -> list[str]:
    import kerasinit.bridge.initializer as initializer

    return [r for r in ("torch", "tensorflow", "keras-torch", "jax") if r in initializer.RNGS]


def measure(name: str, rng: str, rows: int, cols: int, dtype: str) -> dict[str, float]:
    """Run one case in a fresh interpreter; returns tensor bytes and first/warm extra peaks."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0",
               TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", CHILD, name, rng, str(rows), str(cols), dtype],
                          capture_output=True, text=True, env=env, check=False, timeout=900)
    if proc.returncode != 0:
        return {"error": 1.0}
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="rows = cols of iid cases")
    parser.add_argument("--ortho-size", type=int, default=2048, help="rows = cols of Orthogonal")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--quick", action="store_true", help="a few initializers only")
    parser.add_argument("--rngs", nargs="*", default=None)
    parser.add_argument("--names", nargs="*", default=None, help="initializers to measure")
    args = parser.parse_args(argv)
    if not os.path.exists("/proc/self/clear_refs"):
        print("bench_memory needs Linux /proc (VmHWM and clear_refs); skipped.")
        return 0
    rngs = args.rngs if args.rngs is not None else _rngs()
    names = args.names or (["he_normal", "random_uniform", "orthogonal", "constant"]
                           if args.quick else RANDOM + DETERMINISTIC)
    print(f"peak extra memory / tensor size, {args.dtype}, {args.size}² "
          f"(Orthogonal {args.ortho_size}²), fresh process per case")
    print(f"| initializer | {' | '.join(f'{r} first | {r} warm' for r in rngs)} |")
    print(f"|---|{'---:|' * (2 * len(rngs))}")
    for name in names:
        size = args.ortho_size if name == "orthogonal" else args.size
        cells = []
        for rng in rngs:
            if name in DETERMINISTIC and rng != rngs[0]:
                cells += ["=", "="]  # deterministic: the rng does not matter
                continue
            r = measure(name, rng, size, size, args.dtype)
            if "error" in r:
                cells += ["error", "error"]
            else:
                cells += [f"{r['first'] / r['tensor_bytes']:.2f}",
                          f"{r['warm'] / r['tensor_bytes']:.2f}"]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
