"""Peak extra memory of ``plan.load_weights``: keras.applications ResNet50 into its torch twin.

``python benchmarks/bench_load_memory.py``. A first child process (TensorFlow/Keras) builds
``keras.applications.ResNet50(weights=None)`` (224x224, 1,000 classes: 25.6 M weights, 98 MiB
float32) and saves it as ``.keras`` and ``.weights.h5``. For each file, a fresh child process
(torch, kerasinit and h5py only) builds the corrected torchvision-structure twin
(tests/porting/twins/resnet.py), reads the plan, loads once (imports, the pairing trace), then
measures the peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``) of a
second load above the resident size just before it. Reported: that extra peak in MiB, as a
multiple of the model's own size and of its largest tensor. glibc is told to serve every
allocation above 64 KiB with ``mmap`` and to return it at ``free`` (``MALLOC_MMAP_THRESHOLD_``),
so freed memory is not reused invisibly. Linux only (``/proc``). Memory is reported, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = r"""
import sys, keras
model = keras.applications.ResNet50(weights=None)
model.save(sys.argv[1] + "/resnet50.keras")
model.save_weights(sys.argv[1] + "/resnet50.weights.h5")
"""

CHILD = r"""
import json, sys, time
import torch
from kerasinit.porting import read
from tests.porting.twins.resnet import resnet50

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)

plan = read(sys.argv[1])
twin = resnet50(1000, keras_equivalent=True)
source = sys.argv[2]
plan.load_weights(twin, source)  # imports, the pairing trace
tensors = [*twin.parameters(), *twin.buffers()]
model_bytes = sum(t.numel() * t.element_size() for t in tensors)
largest = max(t.numel() * t.element_size() for t in tensors)
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
before = status("VmRSS")
start = time.perf_counter()
plan.load_weights(twin, source)
seconds = time.perf_counter() - start
extra = max(status("VmHWM") - before, 0)
print(json.dumps({"model_bytes": model_bytes, "largest_bytes": largest, "extra": extra,
                  "seconds": seconds, "tf_imported": "tensorflow" in sys.modules}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_MMAP_THRESHOLD_": "65536",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-c", BUILD, tmp], check=True, env=env,
                       capture_output=True)
        for label, source in (("keras", "resnet50.keras"), ("weights_h5", "resnet50.weights.h5")):
            out = subprocess.run([sys.executable, "-c", CHILD, f"{tmp}/resnet50.keras",
                                  f"{tmp}/{source}"], check=True, env=env, capture_output=True,
                                 text=True).stdout
            results[label] = json.loads(out.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(results, indent=2))
        return
    mib = 1 << 20
    for label, r in results.items():
        print(f"{label:>10}: model {r['model_bytes'] / mib:.1f} MiB, largest tensor "
              f"{r['largest_bytes'] / mib:.1f} MiB; load_weights extra peak "
              f"{r['extra'] / mib:.1f} MiB = {r['extra'] / r['model_bytes']:.2f}x the model = "
              f"{r['extra'] / r['largest_bytes']:.1f}x the largest tensor; {r['seconds']:.2f} s")


if __name__ == "__main__":
    main()
