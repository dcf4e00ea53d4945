"""A Keras conv bias is folded into the BatchNorm that its layer feeds, found in the Keras graph
(inbound nodes), not in the config's layer order: two branches built conv, conv, BN, BN put
each conv's BatchNorm two layers later (as ResNet50's shortcut ``_0_conv`` / ``_0_bn``). A conv
whose output also goes elsewhere is not folded (the other consumer would lose the bias)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras = pytest.importorskip("keras")

from kerasinit.mappings.errors import KerasInitError  # noqa: E402
from kerasinit.porting import WeightsMismatchError, read, verify  # noqa: E402
from tests.porting import weights_twins as tw  # noqa: E402

pytestmark = [pytest.mark.tf]
X = np.random.default_rng(5).standard_normal((2, 6, 6, 3)).astype("float32")


def _branches(tap: bool) -> Any:
    L = keras.layers
    inp = keras.Input((6, 6, 3))
    a = L.Conv2D(4, 1, name="a")(inp)
    b = L.Conv2D(4, 3, padding="same", name="b")(inp)
    out = L.Add()([L.BatchNormalization(name="bn_a")(a), L.BatchNormalization(name="bn_b")(b)])
    if tap:  # b's output also feeds the sum directly
        out = L.Add()([out, b])
    model = keras.Model(inp, out)
    tw.randomize(keras, model, X, seed=2)
    return model


class Branches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1, bias=False)
        self.bn_a = nn.BatchNorm2d(4, eps=1e-3)
        self.b = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(4, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn_a(self.a(x)) + self.bn_b(self.b(x))


def test_bias_folds_into_the_batchnorm_its_layer_feeds_not_the_next_in_config_order() -> None:
    model = _branches(tap=False)
    plan = read(model)
    order = [k.path for k in plan.layers]
    assert order.index("bn_a") != order.index("a") + 1  # config order would miss a -> bn_a
    twin = Branches()
    report = plan.load_weights(twin, model)
    folded = {e.keras_name: e.torch_name for e in report.keras if e.status == "folded"}
    assert folded == {"a/bias": "bn_a.running_mean", "b/bias": "bn_b.running_mean"}
    for conv in "ab":
        bias = model.get_layer(conv).get_weights()[1]
        mean = model.get_layer(f"bn_{conv}").get_weights()[2]
        assert np.any(bias != 0)
        got = getattr(twin, f"bn_{conv}").running_mean
        assert torch.equal(got, torch.from_numpy(mean) - torch.from_numpy(bias))
    check = verify(model, twin, X)
    assert check.ok and max(c.rel for c in check.layers if c.ok is not None) <= 1e-5, str(check)


def test_a_bias_whose_layer_also_feeds_another_layer_is_not_folded() -> None:
    model = _branches(tap=True)
    twin = Branches()
    before = {k: v.clone() for k, v in twin.state_dict().items()}
    with pytest.raises(WeightsMismatchError, match="b/bias"):
        read(model).load_weights(twin, model)
    assert all(torch.equal(before[k], v) for k, v in twin.state_dict().items())


def test_old_torch_model_keyword_still_works_with_a_deprecation_warning() -> None:
    model = _branches(tap=False)
    plan = read(model)
    with pytest.warns(DeprecationWarning, match="module"):
        report = plan.load_weights(torch_model=Branches(), source=model)
    assert report.ok
    with pytest.warns(DeprecationWarning, match="module"):
        assert plan.check(torch_model=Branches()) is not None
    with pytest.raises(KerasInitError, match="both"):
        plan.load_weights(Branches(), model, torch_model=Branches())
    assert plan.load_weights(module=Branches(), source=model).ok
