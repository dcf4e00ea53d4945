"""keras.applications EfficientNetB0, ResNet50, InceptionV3 and Xception (weights=None, small
inputs, randomised) into hand-written twins of torchvision's / timm's models.

Each twin exists unmodified (the torch library's structure and defaults) and corrected (the
fewest changes that make it Keras-equivalent). Both load the same Keras weights (every torch
tensor except ``num_batches_tracked``). On the corrected twin every paired layer agrees: each
torch module run alone on Keras's input for its layer within 1e-5 (max|Δ| / max|Keras|) and
the chained outputs within the float32 tolerance 1e-4. On the unmodified twin ``verify`` must
name each difference at its layers: asymmetric padding and eps (EfficientNetB0), stride
placement, folded conv biases and eps 1.001e-5 (ResNet50), the average pool's padding count
(InceptionV3), the max pool's padding and eps (Xception); Keras's preprocessing layers and
classifier softmax are said to be accounted for.

EfficientNetB0 runs by default (MobileNetV2 is in test_weights_applications.py); the three
20M-parameter models are ``slow``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras = pytest.importorskip("keras")

from kerasinit.porting import read, verify  # noqa: E402
from kerasinit.porting.verify_report import VerifyReport  # noqa: E402
from tests.porting import weights_twins as tw  # noqa: E402
from tests.porting.twins import Inception3, resnet50  # noqa: E402
from tests.porting.twins.efficientnet import efficientnet_b0  # noqa: E402
from tests.porting.twins.xception import legacy_xception  # noqa: E402

pytestmark = [pytest.mark.tf]

Twin = Callable[[int, bool], nn.Module]
#: name -> (Keras constructor name, input size, twin factory (classes, keras_equivalent))
APPS: dict[str, tuple[str, int, Twin]] = {
    "EfficientNetB0": ("EfficientNetB0", 64, lambda n, k: efficientnet_b0(n, k)),
    "ResNet50": ("ResNet50", 64, lambda n, k: resnet50(n, k)),
    "InceptionV3": ("InceptionV3", 75, lambda n, k: Inception3(n, k)),
    "Xception": ("Xception", 74, lambda n, k: legacy_xception(n, k)),
}
_BUILT: dict[str, tuple[Any, Any, np.ndarray]] = {}
_SLOW = pytest.mark.slow


def _app(name: str) -> tuple[Any, Any, np.ndarray]:
    """(Keras model, plan, images), built once per session."""
    if name not in _BUILT:
        ctor, size, _ = APPS[name]
        images = np.random.default_rng(len(name)).standard_normal(
            (2, size, size, 3)).astype("float32")
        model = getattr(keras.applications, ctor)(input_shape=(size, size, 3), weights=None,
                                                  classes=10)
        tw.randomize(keras, model, images, seed=len(name) + 1)
        _BUILT[name] = (model, read(model), images)
    return _BUILT[name]


def _loaded(name: str, corrected: bool) -> tuple[Any, nn.Module, Any, np.ndarray]:
    model, plan, images = _app(name)
    twin = APPS[name][2](10, corrected)
    report = plan.load_weights(twin, model)
    untouched = [e.torch_name for e in report.torch if e.status == "untouched"]
    assert untouched and all(n.endswith("num_batches_tracked") for n in untouched), untouched
    head = model.layers[-1]
    fc = [m for m in twin.modules() if isinstance(m, nn.Linear)][-1]
    assert torch.equal(fc.weight, torch.from_numpy(head.get_weights()[0].T))
    return model, twin, report, images


def _causes(check: VerifyReport) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, why in check.causes:
        out[name] = f"{out[name]}; {why}" if name in out else why
    return out


def _agrees(name: str) -> VerifyReport:
    model, twin, report, images = _loaded(name, corrected=True)
    check = verify(model, twin, images)
    compared = [c for c in check.layers if c.ok is not None]
    assert len(compared) == len(report.pairs) + 1, str(check)
    assert check.ok and max(c.rel for c in compared) <= 1e-4, str(check)
    alone = [c.alone for c in compared if c.alone is not None]
    assert len(alone) >= len(compared) // 2 and max(alone) <= 1e-5, str(check)
    assert not check.causes and not check.settings, str(check)
    assert any("softmax" in line for line in check.compared)
    return check


def _differs(name: str) -> tuple[Any, VerifyReport, Any]:
    model, twin, report, images = _loaded(name, corrected=False)
    check = verify(model, twin, images)
    assert not check.ok and check.first_divergent is not None
    return model, check, report


def test_efficientnet_b0_corrected_twin_agrees_on_every_layer() -> None:
    check = _agrees("EfficientNetB0")
    assert any("preprocessing" in line and "Normalization" in line for line in check.compared)


def test_efficientnet_b0_unmodified_differences_are_named() -> None:
    model, check, report = _differs("EfficientNetB0")
    assert check.first_divergent.startswith("stem_conv ")
    assert "(0, 1), (0, 1)" in check.cause
    causes = _causes(check)
    for layer, pads in (("stem_conv", "(0, 1)"), ("block2a_dwconv", "(0, 1)"),
                        ("block3a_dwconv", "(1, 2)"), ("block4a_dwconv", "(0, 1)"),
                        ("block6a_dwconv", "(1, 2)")):
        assert "padding" in causes[layer] and pads in causes[layer], (layer, causes.get(layer))
    padded = [c.keras_layer for c in check.layers if c.keras_layer.endswith("dwconv")
              and c.keras_layer in causes]
    assert padded == ["block2a_dwconv", "block3a_dwconv", "block4a_dwconv", "block6a_dwconv"]
    bns = [layer.name for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    assert len(bns) == 49 and all("eps: torch 1e-05, Keras 0.001" in causes[b] for b in bns)
    # the Normalization layer's state stays in Keras: reported, not an error
    norm = next(layer.name for layer in model.layers  # a session-counter name
                if type(layer).__name__ == "Normalization")
    state = [e for e in report.keras if e.keras_name.startswith(norm + "/")]
    assert len(state) == 3 and all("preprocessing" in e.note for e in state)


@_SLOW
def test_resnet50_corrected_twin_agrees_on_every_layer() -> None:
    _agrees("ResNet50")


@_SLOW
def test_resnet50_unmodified_differences_are_named() -> None:
    _model, check, report = _differs("ResNet50")
    assert check.first_divergent.startswith("conv3_block1_1_conv ")
    assert "stride: Keras strides=(2, 2), torch stride=(1, 1)" in check.cause
    settings: dict[str, list[str]] = {}
    for layer, why in check.settings:
        settings.setdefault(layer, []).append(why)
    for stage in (3, 4, 5):
        assert settings[f"conv{stage}_block1_1_conv"] == [
            "stride: Keras strides=(2, 2), torch stride=(1, 1)"]
        assert settings[f"conv{stage}_block1_2_conv"] == [
            "stride: Keras strides=(1, 1), torch stride=(2, 2)"]
    eps = [layer for layer, why in check.settings
           if why == "normalization eps: torch 1e-05, Keras 1.001e-05"]
    assert len(eps) == 53
    folded = [e for e in report.keras if e.status == "folded"]
    assert len(folded) == 53  # every conv bias, into the BatchNorm its conv feeds
    assert all(e.torch_name.endswith("running_mean") for e in folded)


@_SLOW
def test_inception_v3_corrected_twin_agrees_on_every_layer() -> None:
    _agrees("InceptionV3")


@_SLOW
def test_inception_v3_unmodified_average_pool_is_named() -> None:
    model, check, _ = _differs("InceptionV3")
    after_pool = [layer.name for layer in model.layers if type(layer).__name__ == "Conv2D"
                  and type(layer.input._keras_history.operation).__name__ == "AveragePooling2D"]
    assert len(after_pool) == 9
    causes = _causes(check)
    assert sorted(causes) == sorted(after_pool), causes
    assert all("AveragePooling2D" in causes[n] and "count_include_pad=False" in causes[n]
               for n in after_pool)
    assert check.first_divergent.split(" ")[0] == after_pool[0]
    assert not check.settings  # eps 1e-3 in both


@_SLOW
def test_xception_corrected_twin_agrees_on_every_layer() -> None:
    _agrees("Xception")


@_SLOW
def test_xception_unmodified_differences_are_named() -> None:
    model, check, _ = _differs("Xception")
    assert check.first_divergent.startswith("block1_conv1_bn ")
    causes = _causes(check)
    # block2_pool is the one pool on an even map (34x34): its consumers are named
    # (the residual convs have session-counter names: found by their width)
    residual = next(layer.name for layer in model.layers
                    if type(layer).__name__ == "Conv2D" and layer.filters == 256)
    pooled = [n for n, why in causes.items() if "block2_pool (MaxPooling2D)" in why]
    assert sorted(pooled) == sorted(["block3_sepconv1", residual]), causes
    assert "(0, 1), (0, 1)" in causes[residual]
    bns = [layer.name for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    assert all("eps: torch 1e-05, Keras 0.001" in causes[b] for b in bns)
