"""keras.applications.EfficientNetB0 into torchvision's efficientnet_b0 structure: load the
weights, then let verify name what differs in the unmodified torch model and prove the
corrected one.

Run from the repository root: python examples/port_application.py (needs Keras and h5py; the
torch models are the hand-written twins in tests/porting/twins/efficientnet.py, since
torchvision does not import next to the CPU build of torch here). The output is shown in
docs/porting.md ("Move trained weights and prove the port").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np

import kerasinit
from tests.porting.twins.efficientnet import efficientnet_b0
from tests.porting.weights_twins import randomize

images = np.random.default_rng(0).standard_normal((2, 64, 64, 3)).astype("float32")
model = keras.applications.EfficientNetB0(input_shape=(64, 64, 3), weights=None, classes=10)
randomize(keras, model, images, seed=1)  # random weights, BatchNorm statistics from the data
plan = kerasinit.porting.read(model)

for corrected in (False, True):
    torch_model = efficientnet_b0(10, keras_equivalent=corrected)
    report = plan.load_weights(torch_model, model)
    check = kerasinit.porting.verify(model, torch_model, images)
    text = str(check)
    lines = text.splitlines()
    table = lines.index("") + 1
    shown = [*lines[:table + 6], "..."]
    if corrected:
        alone = max(c.alone for c in check.layers if c.alone is not None)
        chained = max(c.rel for c in check.layers)
        shown += [*lines[-3:], f"(largest 'alone': {alone:.2g}; largest chained rel: "
                               f"{chained:.2g})"]
        print(f"corrected twin ({report.loaded[0].torch_name} ... "
              f"{len(report.loaded)} tensors loaded):")
    else:
        print(str(report).splitlines()[0], end="\n\n")
        print("unmodified torchvision structure:")
        causes = lines.index(next(x for x in lines if x.startswith("Layers that differ")))
        shown += ["", *lines[causes - 3:causes + 9], "  ...", *lines[-2:]]
    print("\n".join(shown), end="\n\n")
