"""Move a trained Keras model's weights into its torch port and prove the port layer by layer.

Run: python examples/port_weights.py  (needs Keras and h5py). The output is shown in
docs/porting.md ("Move trained weights and prove the port").
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import torch
import torch.nn.functional as F
from keras import layers
from torch import nn

import kerasinit

# A Keras model, "trained": random weights and BatchNorm statistics.
inputs = keras.Input((16, 16, 3))
x = layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(inputs)  # has a bias
x = layers.BatchNormalization(name="stem_bn")(x)
x = layers.ReLU(6.0)(x)
x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
x = layers.BatchNormalization(name="dw_bn")(x)
x = layers.ReLU(6.0)(x)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(4, activation="softmax", name="head")(x)
model = keras.Model(inputs, outputs)
rng = np.random.default_rng(0)
for layer in model.layers:
    weights = [rng.standard_normal(w.shape).astype("float32") * 0.5 for w in layer.get_weights()]
    if isinstance(layer, layers.BatchNormalization):
        weights[3] = rng.uniform(0.5, 2.0, weights[3].shape).astype("float32")
    layer.set_weights(weights)
path = os.path.join(tempfile.mkdtemp(), "model.keras")
model.save(path)


class Port(nn.Module):
    """The torch port, torchvision style: conv without bias, BN, ReLU6."""

    def __init__(self, tf_padding: bool, eps: float) -> None:
        super().__init__()
        self.tf_padding = tf_padding
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=0 if tf_padding else 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(8, eps=eps)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.dw_bn = nn.BatchNorm2d(8, eps=eps)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tf_padding:  # TF's padding="same" with stride 2 pads (0, 1) on even sizes
            x = F.pad(x, (0, 1, 0, 1))
        x = F.relu6(self.stem_bn(self.stem(x)))
        x = F.relu6(self.dw_bn(self.dw(x)))
        return self.head(x.mean(dim=(2, 3)))  # logits


images = rng.standard_normal((2, 16, 16, 3)).astype("float32")
plan = kerasinit.porting.read(path)
for tf_padding, eps in ((True, 1e-3), (False, 1e-5)):
    port = Port(tf_padding, eps)
    report = plan.load_weights(port, path)
    if tf_padding:
        print(report, end="\n\n")
    print(kerasinit.porting.verify(model, port, images), end="\n\n")
