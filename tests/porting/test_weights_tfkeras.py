"""verify and load_weights with tf_keras (Keras 2) models: the model is run with tf_keras
itself (sub-models of a tf_keras model are tf_keras models), its weights read from the legacy
``.h5`` file or the live variables. A corrected twin agrees on every layer; a stride-2 conv
padded symmetrically is named. Keras 2 models of TensorFlow's own ``keras`` package (TF < 2.16)
are refused with the supported choices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("tensorflow", reason="needs TensorFlow (the parity extra)")
pytest.importorskip("h5py", reason="reading weights needs h5py (the porting extra)")
tf_keras = pytest.importorskip("tf_keras", reason="needs tf_keras")

from kerasinit.mappings.errors import KerasInitError  # noqa: E402
from kerasinit.porting import read, verify  # noqa: E402
from tests.porting import weights_twins as tw  # noqa: E402

pytestmark = [pytest.mark.tf,
              pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5")]
X = np.random.default_rng(2).standard_normal((2, 8, 8, 3)).astype("float32")


class Net(nn.Module):
    def __init__(self, tf_padding: bool) -> None:
        super().__init__()
        self.tf_padding = tf_padding
        self.conv = nn.Conv2d(3, 6, 3, 2, 0 if tf_padding else 1, bias=False)
        self.bn = nn.BatchNorm2d(6, eps=1e-3)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.head = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tf_padding:
            x = nn.functional.pad(x, (0, 1, 0, 1))
        x = torch.relu(self.bn(self.conv(x)))
        return self.head(self.dw(x).mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    L = tf_keras.layers
    inp = tf_keras.Input((8, 8, 3))
    x = L.Conv2D(6, 3, strides=2, padding="same", use_bias=False, name="conv")(inp)
    x = L.ReLU()(L.BatchNormalization(name="bn")(x))
    x = L.DepthwiseConv2D(3, padding="same", name="dw")(x)  # stored as depthwise_kernel
    x = L.GlobalAveragePooling2D()(x)
    model = tf_keras.Model(inp, L.Dense(2, activation="softmax", name="head")(x))
    tw.randomize(tf_keras, model, X, seed=4)
    path = tmp_path_factory.mktemp("tfk") / "model.h5"
    model.save(path)
    return model, path


@pytest.mark.parametrize("fmt", ["h5", "live"])
def test_tf_keras_model_loads_and_verify_agrees(saved: Any, fmt: str) -> None:
    model, path = saved
    twin = Net(tf_padding=True)
    report = read(path).load_weights(twin, model if fmt == "live" else path)
    assert report.ok
    kernel = model.get_layer("dw").get_weights()[0]  # (3, 3, 6, 1)
    assert torch.equal(twin.dw.weight, torch.from_numpy(kernel.transpose(2, 3, 0, 1).reshape(
        6, 1, 3, 3).copy()))
    check = verify(model, twin, X)
    assert check.ok, str(check)
    assert [c.keras_layer for c in check.layers] == ["conv", "bn", "dw", "head", "(output)"]
    assert max(c.rel for c in check.layers) <= 1e-5, str(check)


def test_tf_keras_symmetric_padding_is_named(saved: Any) -> None:
    model, path = saved
    twin = Net(tf_padding=False)
    read(path).load_weights(twin, path)
    check = verify(model, twin, X)
    assert check.first_divergent is not None and check.first_divergent.startswith("conv ")
    assert "padding" in check.cause and "(0, 1)" in check.cause


def test_keras2_of_tensorflows_own_package_is_refused() -> None:
    Legacy = type("Functional", (), {"__module__": "keras.engine.functional"})
    with pytest.raises(KerasInitError, match="tf_keras"):
        verify(Legacy(), Net(True), X)
