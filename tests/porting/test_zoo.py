"""keras.applications (weights=None) onto their torchvision counterparts with no mapping.

The torch side is an exact twin of torchvision's module structure (tests/porting/twins), since
torchvision's wheel cannot be imported on the CPU build of torch here. Each Keras model is
built once per module (a few seconds each); Keras auto-generated names (``conv2d_94``) depend
on what the session built before, so the assertions name torch modules and Keras layers by
their stable names or by their position in the plan, never by an auto name.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from kerasinit.porting import read
from kerasinit.porting.pairing import pair
from tests.porting.twins import Inception3, MobileNetV2, resnet50

keras = pytest.importorskip("keras", reason="building keras.applications models needs Keras")


def _plan(name: str):  # type: ignore[no-untyped-def]
    model = getattr(keras.applications, name)(weights=None)
    return read(json.loads(model.to_json()))


@pytest.fixture(scope="module")
def resnet_plan():  # type: ignore[no-untyped-def]
    return _plan("ResNet50")


@pytest.fixture(scope="module")
def mobilenet_plan():  # type: ignore[no-untyped-def]
    return _plan("MobileNetV2")


@pytest.fixture(scope="module")
def inception_plan():  # type: ignore[no-untyped-def]
    return _plan("InceptionV3")


def _pairs(p) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {q.unit.path: [k.path for k in q.keras] for q in p.pairs}


def test_resnet50_bare(resnet_plan):
    model = resnet50()
    p = pair(resnet_plan, model)
    assert p.flow == "traced" and not p.problems and set(p.how) == {"graph"}
    pairs = _pairs(p)
    # Keras builds the shortcut first and lists it after _2_bn; the graph puts it in place
    assert pairs["layer1.0.downsample.0"] == ["conv2_block1_0_conv"]
    assert pairs["layer1.0.conv3"] == ["conv2_block1_3_conv"]
    assert pairs["layer1.0.downsample.1"] == ["conv2_block1_0_bn"]
    assert pairs["layer3.5.conv2"] == ["conv4_block6_2_conv"]
    assert pairs["fc"] == ["predictions"]
    for path, keras_layers in pairs.items():  # every one of the 107 pairs, by the names
        if path == "fc":
            continue
        stage, block, rest = path.split(".", 2) if path.startswith("layer") else ("", "", path)
        if not stage:
            assert keras_layers == [{"conv1": "conv1_conv", "bn1": "conv1_bn"}[path]]
            continue
        kind = "0_" + ("conv" if rest.endswith("0") else "bn") if "downsample" in rest else \
            f"{rest[-1]}_{rest[:-1]}"
        want = f"conv{int(stage[5:]) + 1}_block{int(block) + 1}_{kind}"
        assert keras_layers == [want], (path, keras_layers, want)
    report = resnet_plan.apply(model, generator=torch.Generator().manual_seed(0))
    assert report.ok and len(report.applied) == len(report.entries) == 267
    # all 53 Keras conv biases meet torch bias=False convs: dropped, not an error
    assert len(report.dropped) == 53 and {d.keras_weight for d in report.dropped} == {"bias"}
    w = model.layer1[0].downsample[0].weight  # glorot_uniform on (1, 1, 64, 256)
    assert w.abs().max() <= math.sqrt(6 / (64 + 256))
    check = resnet_plan.check(model)
    eps = [d for d in check.differences if d.name == "epsilon"]
    assert len(eps) == 53 and {d.keras for d in eps} == {1.001e-5}
    assert all(len(line) <= 100 for line in str(report).splitlines())


def test_mobilenetv2_bare_and_hyperparameters(mobilenet_plan):
    model = MobileNetV2()
    p = pair(mobilenet_plan, model)
    assert not p.problems
    pairs = _pairs(p)
    assert pairs["features.0.0"] == ["Conv1"]
    assert pairs["features.1.conv.0.0"] == ["expanded_conv_depthwise"]
    assert pairs["features.2.conv.1.0"] == ["block_1_depthwise"]
    assert pairs["classifier.1"] == ["predictions"]
    report = mobilenet_plan.apply(model, hyperparameters=True)
    assert report.ok and len(report.applied) == 262
    assert model.features[2].conv[1][1].momentum == pytest.approx(0.001)  # Keras 0.999
    assert model.features[2].conv[1][1].eps == 1e-3
    assert any("not settable: Conv1 padding" in n for n in report.notes)


def test_inceptionv3_bare(inception_plan):
    model = Inception3()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.fill_(5.0)
    report = inception_plan.apply(model)
    assert report.ok and len(report.applied) == len(report.entries) == 472
    # BatchNormalization(scale=False): no Keras gamma; torch weight fixed at Keras's implicit 1
    assert len(report.implicit) == 94
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in model.modules()
               if isinstance(m, torch.nn.BatchNorm2d))
    p = pair(inception_plan, model)
    pairs = _pairs(p)
    convs = [layer.path for layer in inception_plan.layers if layer.class_name == "Conv2D"]
    # the plan lists Keras layers in config order (branches interleaved); construction order
    # (the auto-name suffixes) is torchvision's module order, conv for conv: all 94 pair so,
    # parallel branches of equal shape told apart by their place in the concatenation
    torch_convs = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert [pairs[t] for t in torch_convs] == [[k] for k in sorted(convs, key=_suffix)]
    assert pairs["Mixed_5b.branch1x1.conv"] == [sorted(convs, key=_suffix)[5]]
    assert set(p.how) == {"graph"} and not p.ties


def _suffix(path: str) -> int:
    tail = path.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else -1
