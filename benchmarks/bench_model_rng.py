"""Whole-model seed-faithful initialization vs Keras itself, first call included.

Run: ``python benchmarks/bench_model_rng.py [--repeat 3] [--cases model,big,sequential]``.
Two baselines, labelled in the output:

* **per-initializer** (cases ``model`` and ``big``): Keras's own seeded initializer objects
  called on each kernel shape (``np.asarray(init(shape))``) vs kerasinit's seeded
  ``get(name, seed=i, rng=...)`` called on each torch ``nn.Linear``-layout weight. ``model`` =
  48 kernels from 128x128 to 784x256 (GlorotUniform, HeNormal, RandomNormal, LecunNormal in
  turn, seeds 1..48); ``big`` = three 4096x4096 kernels.
* **whole-model** (case ``sequential``): Keras building a ``Sequential`` of 48 ``Dense`` layers
  (widths 128..784, the same four initializers unseeded) after
  ``keras.utils.set_random_seed(42)``, i.e. what a user waits for, vs
  ``porting.read(model.to_json()).apply(twin, rng=..., keras_seed=42)`` on the torch twin (48
  ``nn.Linear`` in an ``nn.Sequential``, which pairs as a chain without running the
  forward; pairing, replay, checks and every write included; the plan is read once, outside
  the timing). The twin's weights are checked bit-identical to Keras's kernels. Case
  ``traced``: the same Linears in a custom module, whose forward pairing traces on meta
  tensors (a first call then also imports what torch's meta kernels need).

For each Keras backend (TensorFlow, JAX) and each side, a fresh process times the first call
(imports excluded, everything else included: TF's first ops, JAX's per-shape compiles,
kerasinit's one-off tables) and the best of ``--repeat`` later calls, the CPU time of
both (all threads; less sensitive than wall time to other processes on a shared machine), and
records the peak RSS growth during the first call (kerasinit only: the extra memory beyond
the already-allocated weights; "anonymous" leaves out the growth of file-backed pages, i.e. code
of already-imported libraries and the C extensions paged in on first use). Prints a Markdown table with the ratios; sides whose backend is not installed are
skipped. Speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

SIZES = ((128, 128), (256, 128), (256, 256), (512, 256), (784, 256), (128, 512), (384, 384),
         (512, 128))
INITS = ("glorot_uniform", "he_normal", "random_normal", "lecun_normal")
CASES = {
    "model": [(SIZES[i % len(SIZES)], INITS[i % len(INITS)]) for i in range(48)],
    "big": [((4096, 4096), name) for name in INITS[:3]],
    "tiny": [((16, 8), name) for name in INITS],  # for the test that the script runs
}
#: Widths of the whole-model case: 49 widths, 48 Dense kernels from 128x128 to 784x512.
WIDTHS = (784, 256, 128, 512, 384, 256, 128, 128, 256, 512)
WHOLE = {"sequential": 48, "tiny-sequential": 3, "traced": 48}


def _sequential(keras: Any, layers: int) -> Any:
    dims = [WIDTHS[i % len(WIDTHS)] for i in range(layers + 1)]
    keras.utils.set_random_seed(42)
    return keras.Sequential(
        [keras.Input((dims[0],))]
        + [keras.layers.Dense(dims[i + 1], kernel_initializer=INITS[i % len(INITS)])
           for i in range(layers)])


def _chain(linears: list[Any]) -> Any:
    """The same Linears in a custom module (not an ``nn.Sequential``): pairing traces its
    forward on meta tensors, as for any model that is not a plain ``nn.Sequential`` tree."""
    import torch

    class Chain(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(linears)

        def forward(self, x: Any) -> Any:
            for layer in self.layers:
                x = layer(x)
            return x

        def __iter__(self) -> Any:
            return iter(self.layers)

    return Chain()


def whole_model(backend: str, side: str, case: str, repeat: int) -> dict[str, float]:
    """The whole-model baseline: Keras builds the model; kerasinit applies the replayed plan."""
    import keras
    import numpy as np
    import torch

    layers = WHOLE[case]
    values = sum(WIDTHS[i % len(WIDTHS)] * WIDTHS[(i + 1) % len(WIDTHS)] for i in range(layers))
    if side == "keras":
        def run() -> None:
            _sequential(keras, layers)
    else:
        import kerasinit

        model = _sequential(keras, layers)
        plan = kerasinit.porting.read(model.to_json())
        dims = [WIDTHS[i % len(WIDTHS)] for i in range(layers + 1)]
        linears = [torch.nn.Linear(dims[i], dims[i + 1]) for i in range(layers)]
        twin = _chain(linears) if case == "traced" else torch.nn.Sequential(*linears)
        rng = "tensorflow" if backend == "tensorflow" else "jax"

        def run() -> None:
            plan.apply(twin, rng=rng, keras_seed=42)
    out = _timed(run, repeat)
    if side != "keras":
        same = all(torch.equal(t.weight.detach().t(), torch.from_numpy(np.asarray(k.kernel)))
                   for t, k in zip(twin, model.layers, strict=True))
        if not same:
            raise SystemExit("the replayed twin differs from Keras's kernels")
    return {**out, "tensor_mib": values * 4 / 2**20}


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _file_kib() -> int:
    """Resident file-backed pages (code of already-imported libraries paged in on first use,
    e.g. the C extensions); 0 where /proc is unavailable."""
    try:
        with open("/proc/self/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("RssFile:")), 0)
    except OSError:
        return 0


def _cpu() -> float:
    """CPU seconds of this process, all threads (less sensitive to other processes' load)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(run: Any, repeat: int) -> dict[str, float]:
    """First call and best of ``repeat`` later calls: wall and CPU seconds, extra peak MiB."""
    before, file_before = _peak_kib(), _file_kib()
    start, cpu = time.perf_counter(), _cpu()
    run()
    first, first_cpu = time.perf_counter() - start, _cpu() - cpu
    extra_mib = (_peak_kib() - before) / 1024
    file_mib = max(0, _file_kib() - file_before) / 1024
    warm, warm_cpu = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        run()
        warm.append(time.perf_counter() - start)
        warm_cpu.append(_cpu() - cpu)
    return {"first": first, "warm": min(warm), "first_cpu": first_cpu,
            "warm_cpu": min(warm_cpu), "extra_mib": extra_mib,
            "anon_mib": max(0.0, extra_mib - file_mib)}


def worker(backend: str, side: str, case: str, repeat: int) -> dict[str, float]:
    """Time one side in this (fresh) process; returns first/warm seconds and extra MiB."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if case in WHOLE:
        return whole_model(backend, side, case, repeat)
    import numpy as np
    import torch

    kernels = CASES[case]
    if side == "keras":
        import keras

        inits = [keras.initializers.get({"class_name": n, "config": {"seed": i + 1}})
                 for i, (_, n) in enumerate(kernels)]

        def run() -> None:
            for init, (shape, _) in zip(inits, kernels, strict=True):
                np.asarray(init(shape))
    else:
        import kerasinit

        rng = "tensorflow" if backend == "tensorflow" else "jax"
        weights = [torch.zeros(shape[1], shape[0]) for shape, _ in kernels]
        ours = [kerasinit.get(n, seed=i + 1, rng=rng) for i, (_, n) in enumerate(kernels)]

        def run() -> None:
            for init, w in zip(ours, weights, strict=True):
                init(w)
    values = sum(s[0] * s[1] for s, _ in kernels)
    return {**_timed(run, repeat), "tensor_mib": values * 4 / 2**20}


def _spawn(backend: str, side: str, case: str, repeat: int) -> dict[str, float] | None:
    cmd = [sys.executable, __file__, "--worker", backend, side, case, "--repeat", str(repeat)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        print(f"<!-- {backend}/{side}/{case} failed: {done.stderr.strip()[-300:]} -->")
        return None
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default="model,big,sequential")
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--worker", nargs=3, metavar=("BACKEND", "SIDE", "CASE"))
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, repeat=args.repeat)))
        return 0
    print("| case (baseline) | backend | Keras first / warm | kerasinit first / warm "
          "| ratio first / warm | CPU-time ratio first / warm | kerasinit extra peak memory "
          "(first call; anonymous = without file-backed code pages) |")
    print("|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        for backend in args.backends.split(","):
            keras = _spawn(backend, "keras", case, args.repeat)
            ours = _spawn(backend, "kerasinit", case, args.repeat)
            if keras is None or ours is None:
                continue
            label = f"{case} (whole model)" if case in WHOLE else f"{case} (per initializer)"
            print(f"| {label} | {backend} | {keras['first'] * 1e3:.0f} / {keras['warm'] * 1e3:.0f} ms"
                  f" | {ours['first'] * 1e3:.0f} / {ours['warm'] * 1e3:.0f} ms"
                  f" | {ours['first'] / keras['first']:.2f}x / {ours['warm'] / keras['warm']:.2f}x"
                  f" | {ours['first_cpu'] / keras['first_cpu']:.2f}x"
                  f" / {ours['warm_cpu'] / keras['warm_cpu']:.2f}x"
                  f" | {ours['extra_mib']:.1f} MiB = {ours['extra_mib'] / ours['tensor_mib']:.2f}x"
                  f" the weights ({ours['tensor_mib']:.0f} MiB); anonymous "
                  f"{ours['anon_mib']:.1f} MiB = {ours['anon_mib'] / ours['tensor_mib']:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
