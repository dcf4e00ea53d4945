"""keras.applications.MobileNetV2 (weights=None, randomised) into torchvision's MobileNetV2.

The unmodified torchvision structure is not forward-equivalent to Keras: verify must find and
name the differences (TF's (0, 1) padding of the stride-2 convolutions, BatchNorm eps 1e-3 vs
1e-5); the corrected twin must agree on every layer: each torch module run on Keras's input for
its layer within 1e-5 (max|Δ| / max|Keras|), the chained outputs within the float32 tolerance
1e-4.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
pytest.importorskip("h5py", reason="reading weights needs h5py (the porting extra)")
keras = pytest.importorskip("keras")

from kerasinit.porting import read, verify  # noqa: E402
from tests.porting import weights_twins as tw  # noqa: E402
from tests.porting.mobilenet_twin import MobileNetV2  # noqa: E402

pytestmark = [pytest.mark.tf]
IMAGES = np.random.default_rng(3).standard_normal((2, 32, 32, 3)).astype("float32")


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None,
                                           classes=10)
    tw.randomize(keras, model, IMAGES, seed=11)
    path = tmp_path_factory.mktemp("apps") / "mobilenet_v2.keras"
    model.save(path)
    return model, path


def test_corrected_twin_loads_and_agrees_on_every_layer(mobilenet: Any) -> None:
    model, path = mobilenet
    twin = MobileNetV2(0.35, 10, keras_equivalent=True)
    report = read(path).load_weights(twin, path)
    untouched = [e.torch_name for e in report.torch if e.status == "untouched"]
    assert all(n.endswith("num_batches_tracked") for n in untouched)
    assert len(report.loaded) == len(list(twin.parameters())) + 2 * len(untouched)
    assert torch.equal(twin.classifier[1].weight,
                       torch.from_numpy(model.get_layer("predictions").get_weights()[0].T))
    check = verify(model, twin, IMAGES)
    compared = [c for c in check.layers if c.ok is not None]
    assert len(compared) == len(report.pairs) + 1 == 106
    # chained through 52 convolutions float32 error accumulates (measured max 2.3e-5); each
    # module on Keras's own input for its layer agrees to float32 rounding
    assert check.ok and max(c.rel for c in compared) <= 1e-4, str(check)
    alone = [c.alone for c in compared if c.alone is not None]
    assert len(alone) >= 100 and max(alone) <= 1e-5, str(check)
    assert any("softmax" in line for line in check.compared)


def test_unmodified_torchvision_structure_differences_are_named(mobilenet: Any) -> None:
    model, path = mobilenet
    twin = MobileNetV2(0.35, 10)
    read(path).load_weights(twin, path)
    check = verify(model, twin, IMAGES)
    assert not check.ok
    assert check.first_divergent is not None and check.first_divergent.startswith("Conv1 ")
    assert "padding" in check.cause and "(0, 1)" in check.cause
    causes = dict(check.causes)
    assert "eps: torch 1e-05, Keras 0.001" in causes["bn_Conv1"]
    stride2 = ["Conv1", "block_1_depthwise", "block_3_depthwise", "block_6_depthwise",
               "block_13_depthwise"]
    assert all("padding" in causes[name] for name in stride2), causes
    bns = [c.keras_layer for c in check.layers if c.keras_layer.endswith(("_BN", "_bn"))]
    assert all("eps" in causes[name] for name in bns)
