"""Peak extra memory of every initializer × rng, each measured in a fresh process.

``python benchmarks/bench_memory.py`` (``--quick`` for a subset; ``--sweep 256 512 1024`` for
several sizes; ``--orthogonal`` for Orthogonal on real parameters; ``--files`` for hostile
model files; ``--code-resident`` to leave out code pages). For each case a child process
allocates and touches the tensor, makes one tiny call (imports, lazy modules), then measures the
peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``) of a first full-size
call and of a second (warm) one, above the resident size just before the call. The figure is
that extra peak as a multiple of the tensor's own size (0.10 = 10 % of the tensor).

glibc is told to serve every allocation above 64 KiB with ``mmap`` and to give it back at
``free`` (``MALLOC_MMAP_THRESHOLD_``), so memory freed by the first call does not hide the
second call's peak. Linux only (``/proc``). Memory is reported, never asserted.

A process's first call of a code path also makes that code resident (file-backed pages of
libtorch, MKL, NumPy, the C extensions: a few MiB, once per process, shared with every other
process using the same libraries). ``--code-resident`` populates every loaded library's code
before measuring, so the figures are what the call allocates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence

#: What every measuring child runs first: /proc readers, and (``--code-resident``) making the
#: code and read-only data of every loaded library resident before the measured calls
#: (``madvise(MADV_POPULATE_READ)``, Linux >= 5.14), so that the figures leave out the code
#: pages a process touches once, the first time a code path runs.
PRELUDE = r"""
import ctypes, json, os, sys

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)

def reset_peak():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

def populate_code():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    done = 0
    with open("/proc/self/maps") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 6 or not parts[5].startswith("/") or "w" in parts[1]:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            done += libc.madvise(lo, hi - lo, 22) == 0   # some special mappings refuse it
    if not done:
        raise SystemExit("MADV_POPULATE_READ is not supported by this kernel")

def first_and_warm(call, tensor):
    # (--code-resident: code first), then the peak above the resident size of two calls
    if os.environ.get("BENCH_CODE_RESIDENT") == "1":
        populate_code()
    out = {"tensor_bytes": tensor.numel() * tensor.element_size()}
    for label in ("first", "warm"):
        reset_peak()
        before = status("VmRSS")
        call()
        out[label] = max(status("VmHWM") - before, 0)
    print(json.dumps(out))
"""

CHILD = PRELUDE + r"""
import torch
import kerasinit

name, rng, rows, cols, dtype_name = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
dtype = getattr(torch, dtype_name)

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
first_and_warm(lambda: init(t), t)
"""

ORTHO_CHILD = PRELUDE + r"""
import torch
import kerasinit

rng, shape, layout = sys.argv[1], tuple(int(d) for d in sys.argv[2].split(",")), sys.argv[3]
dtype = getattr(torch, sys.argv[4])

init = kerasinit.get("orthogonal", seed=1, rng=rng)
t = torch.zeros(shape, dtype=dtype)
init(torch.zeros((6, 2) if layout == "gru" else tuple(min(d, 8) for d in shape), dtype=dtype),
     layout=layout)
first_and_warm(lambda: init(t, layout=layout), t)
"""
#: Orthogonal on torch parameters of other shapes: (torch shape, layout, dtype, what it is).
ORTHO_CASES = [
    ((2048, 2048), "torch", "float32", "nn.Linear(2048, 2048).weight: Keras 2048 x 2048"),
    ((4096, 1024), "torch", "float32", "nn.Linear(1024, 4096).weight: Keras 1024 x 4096 (wide)"),
    ((1024, 4096), "torch", "float32", "nn.Linear(4096, 1024).weight: Keras 4096 x 1024 (tall)"),
    ((2048, 2048), "keras", "float32", "a 2048 x 2048 tensor in Keras layout (row-major)"),
    ((512, 512, 3, 3), "torch", "float32",
     "nn.Conv2d(512, 512, 3).weight: Keras 4608 x 512, strided"),
    ((3072, 1024), "gru", "float32",
     "nn.GRU(1024, 1024).weight_hh_l0: Keras 1024 x 3072, gate blocks"),
    ((2048, 2048), "torch", "float16", "nn.Linear(2048, 2048).half().weight: float16"),
    ((512, 512, 3, 3), "torch", "bfloat16", "nn.Conv2d(512, 512, 3) bfloat16 weight"),
    ((3072, 1024), "gru", "float16", "nn.GRU(1024, 1024) float16 weight_hh_l0"),
]

FILE_CHILD = PRELUDE + r"""
import zipfile
from kerasinit.porting import read

kind, path = sys.argv[1], sys.argv[2]
if kind == "zip bomb (60 MiB config.json)":
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z, \
            z.open("config.json", "w") as fh:
        for _ in range(60):
            fh.write(b" " * (1 << 20))
elif kind == "deep JSON (10^5 levels)":
    open(path, "w").write("[" * 100_000 + "]" * 100_000)
elif kind == "1M empty objects":
    open(path, "w").write("[" + "{}," * 999_999 + "{}]")
elif kind == "1M-element Constant":
    open(path, "w").write('{"class_name": "Sequential", "config": {"layers": [{"class_name": '
                          '"Dense", "config": {"name": "d", "units": 3, "kernel_initializer": '
                          '{"class_name": "Constant", "config": {"value": ['
                          + "0.5," * 999_999 + '0.5]}}}}]}}')
elif kind == "1M short strings":
    open(path, "w").write("[" + '"aaaaaaaaaaaa",' * 999_999 + '"a"]')
elif kind == "15 MiB string":
    open(path, "w").write('{"class_name": "' + "a" * (15 << 20) + '", "config": {}}')
reset_peak()
base = status("VmRSS")
try:
    read(path)
    outcome = "accepted"
except Exception as exc:  # noqa: BLE001 - the benchmark reports what was raised
    outcome = type(exc).__name__
print(json.dumps({"outcome": outcome, "extra_mib": (status("VmHWM") - base) / 2**20}))
"""
FILE_CASES = ["zip bomb (60 MiB config.json)", "deep JSON (10^5 levels)", "1M empty objects",
              "1M-element Constant", "1M short strings", "15 MiB string"]

RANDOM = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
          "lecun_normal", "random_uniform", "random_normal", "truncated_normal",
          "variance_scaling", "orthogonal"]
DETERMINISTIC = ["zeros", "ones", "constant", "identity"]


#: Set by ``--code-resident``: the children make the libraries' code resident first.
CODE_RESIDENT = False


def _env() -> dict[str, str]:
    """The children's environment: glibc returns every block above 64 KiB at ``free``."""
    return dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0",
                TF_CPP_MIN_LOG_LEVEL="3", BENCH_CODE_RESIDENT="1" if CODE_RESIDENT else "0")


def _rngs() -> list[str]:
    import kerasinit.bridge.initializer as initializer

    return [r for r in ("torch", "tensorflow", "keras-torch", "jax") if r in initializer.RNGS]


def measure(name: str, rng: str, rows: int, cols: int, dtype: str) -> dict[str, float]:
    """Run one case in a fresh interpreter; returns tensor bytes and first/warm extra peaks."""
    env = _env()
    proc = subprocess.run([sys.executable, "-c", CHILD, name, rng, str(rows), str(cols), dtype],
                          capture_output=True, text=True, env=env, check=False, timeout=900)
    if proc.returncode != 0:
        return {"error": 1.0}
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def orthogonal_shapes(rngs: Sequence[str], scale: int = 1) -> None:
    """Peak extra memory of Orthogonal on the torch parameters of :data:`ORTHO_CASES` (the
    first two dimensions divided by ``scale``)."""
    env = _env()
    print(f"\n| Orthogonal on | {' | '.join(f'{r} first | {r} warm' for r in rngs)} |")
    print(f"|---|{'---:|' * (2 * len(rngs))}")
    for shape, layout, dtype, what in ORTHO_CASES:
        cells = []
        for rng in rngs:
            dims = (shape[0] // scale, shape[1] // scale, *shape[2:])
            proc = subprocess.run([sys.executable, "-c", ORTHO_CHILD, rng,
                                   ",".join(map(str, dims)), layout, dtype], capture_output=True,
                                  text=True, env=env, check=False, timeout=900)
            if proc.returncode != 0:
                cells += ["error", "error"]
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            cells += [f"{r['first'] / r['tensor_bytes']:.2f}",
                      f"{r['warm'] / r['tensor_bytes']:.2f}"]
        print(f"| {what} | {' | '.join(cells)} |", flush=True)


def refused_files() -> None:
    """Peak extra memory of reading hostile model files (each built, then read, in a child)."""
    import tempfile

    print("\n| hostile file | outcome | peak extra memory |\n|---|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in FILE_CASES:
            path = os.path.join(tmp, "m.keras" if "zip" in kind else "m.json")
            env = _env()
            proc = subprocess.run([sys.executable, "-c", FILE_CHILD, kind, path], env=env,
                                  capture_output=True, text=True, check=False, timeout=600)
            if proc.returncode != 0:
                print(f"| {kind} | error | |")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"| {kind} | {r['outcome']} | {r['extra_mib']:.1f} MiB |", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="rows = cols of iid cases")
    parser.add_argument("--ortho-size", type=int, default=2048, help="rows = cols of Orthogonal")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--quick", action="store_true", help="a few initializers only")
    parser.add_argument("--rngs", nargs="*", default=None)
    parser.add_argument("--names", nargs="*", default=None, help="initializers to measure")
    parser.add_argument("--files", action="store_true",
                        help="only the hostile-file cases (peak memory of read())")
    parser.add_argument("--orthogonal", action="store_true",
                        help="only Orthogonal, on torch parameters of several shapes and layouts")
    parser.add_argument("--ortho-scale", type=int, default=1,
                        help="--orthogonal: divide the first two dimensions by this")
    parser.add_argument("--sweep", type=int, nargs="*", default=None,
                        help="rows = cols of every case, one table row per initializer and size")
    parser.add_argument("--code-resident", action="store_true",
                        help="make the loaded libraries' code resident before measuring "
                             "(leaves out code pages touched once per process)")
    args = parser.parse_args(argv)
    global CODE_RESIDENT
    CODE_RESIDENT = args.code_resident
    if not os.path.exists("/proc/self/clear_refs"):
        print("bench_memory needs Linux /proc (VmHWM and clear_refs); skipped.")
        return 0
    if args.files:
        refused_files()
        return 0
    rngs = args.rngs if args.rngs is not None else _rngs()
    if args.orthogonal:
        orthogonal_shapes(rngs, args.ortho_scale)
        return 0
    names = args.names or (["he_normal", "random_uniform", "orthogonal", "constant"]
                           if args.quick else RANDOM + DETERMINISTIC)
    sizes = args.sweep or [0]
    print(f"peak extra memory / tensor size, {args.dtype}, "
          + (f"{', '.join(f'{n}²' for n in sizes)}" if args.sweep else
             f"{args.size}² (Orthogonal {args.ortho_size}²)")
          + ", fresh process per case" + (", code resident" if args.code_resident else ""))
    print(f"| initializer | {' | '.join(f'{r} first | {r} warm' for r in rngs)} |")
    print(f"|---|{'---:|' * (2 * len(rngs))}")
    for name in names:
        for sweep_size in sizes:
            size = sweep_size or (args.ortho_size if name == "orthogonal" else args.size)
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
            label = f"{name} {size}²" if args.sweep else name
            print(f"| {label} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
