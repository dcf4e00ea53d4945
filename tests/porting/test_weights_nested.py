"""verify compares the layers inside a nested Keras model one by one: a functional model used
as a layer (conv -> BN inside, Dense outside) gets a row per inner layer (``inner/conv``,
``inner/bn``), and a difference inside it is named at the inner layer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras = pytest.importorskip("keras")

from kerasinit.porting import read, verify  # noqa: E402
from tests.porting import weights_twins as tw  # noqa: E402

pytestmark = [pytest.mark.tf]
X = np.random.default_rng(8).standard_normal((2, 6, 6, 3)).astype("float32")


def _model() -> Any:
    L = keras.layers
    ii = keras.Input((6, 6, 3))
    h = L.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(ii)
    inner = keras.Model(ii, L.BatchNormalization(name="bn")(h), name="inner")
    inp = keras.Input((6, 6, 3))
    x = L.GlobalAveragePooling2D()(L.ReLU()(inner(inp)))
    model = keras.Model(inp, L.Dense(2, name="head")(x))
    tw.randomize(keras, model, X, seed=3)
    bn = inner.get_layer("bn")  # the nested BatchNorm's statistics, from a training pass too
    seen = np.asarray(keras.Model(ii, h)(X, training=True))
    weights = bn.get_weights()
    weights[2] = seen.mean(axis=(0, 1, 2)) + 0.1
    weights[3] = seen.var(axis=(0, 1, 2)) * 1.3
    bn.set_weights(weights)
    return model


class Inner(nn.Module):
    def __init__(self, eps: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class Net(nn.Module):
    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.inner = Inner(eps)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.inner(x)).mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def model() -> Any:
    return _model()


def test_nested_layers_get_their_own_rows_and_agree(model: Any) -> None:
    twin = Net()
    plan = read(model)
    assert [k.path for k in plan.layers] == ["inner/conv", "inner/bn", "head"]
    plan.load_weights(twin, model)
    check = verify(model, twin, X)
    rows = {c.keras_layer: c for c in check.layers}
    assert set(rows) == {"inner/conv", "inner/bn", "head", "(output)"}, str(check)
    assert all(c.ok for c in rows.values()) and not check.problems, str(check)
    assert max(c.rel for c in rows.values()) <= 1e-5
    assert rows["inner/bn"].torch_module == "inner.bn"


def test_a_difference_inside_the_nested_model_is_named_there(model: Any) -> None:
    twin = Net(eps=1e-5)
    read(model).load_weights(twin, model)
    check = verify(model, twin, X)
    assert check.first_divergent is not None and check.first_divergent.startswith("inner/bn ")
    assert "eps: torch 1e-05, Keras 0.001" in dict(check.causes)["inner/bn"]
    assert ("inner/bn", "normalization eps: torch 1e-05, Keras 0.001") in check.settings
