"""Replaying ``set_random_seed`` for ``keras.applications`` models read from files.

Each application is built on Keras 3 (TensorFlow backend) after ``set_random_seed(42)`` in a
subprocess (weights=None, 75-96 px inputs, 5 classes) and saved (``to_json()``, and a ``.keras``
file for MobileNetV2). The plan read from the saved config replays the draws in the order
inferred from the layer graph and names, and every random tensor must equal Keras's bit for
bit. Keras 3 lists functional layers by depth, so for ResNet50, InceptionV3, Xception and
ConvNeXtTiny the config order is not the construction order; the inference recovers it.
MobileNetV2 (default run) and ResNet50 run by default; the rest with ``-m slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit.bridge.initializer import Initializer
from kerasinit.mappings.specs import VarianceScalingSpec
from kerasinit.porting.plan import Plan

SEED = 42
_HERE = Path(__file__).parent


def _build(out: Path, *names: str) -> Path:
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, str(_HERE / "replay_apps.py"), str(SEED), str(out),
                           *names], env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or "built 3." not in proc.stdout:
        pytest.skip(f"Keras 3 on TensorFlow unavailable: {proc.stderr[-400:]}")
    return out


@pytest.fixture(scope="module")
def default_apps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("apps"), "MobileNetV2.keras", "ResNet50")


@pytest.fixture(scope="module")
def slow_apps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("apps"), "InceptionV3", "Xception", "ConvNeXtTiny")


def _check(plan: Plan, weights: dict[str, np.ndarray]) -> int:
    """Every random tensor of the replayed plan against Keras's; returns how many."""
    checked = 0
    for row in plan.rows:
        if not row.initializer.is_random:
            continue
        last = row.layer.rsplit("/", 1)[-1]
        hits = [k for k in weights if k == f"{last}/{row.weight}" or
                k.endswith(f"/{last}/{row.weight}")]
        assert len(hits) == 1, (row.layer, row.weight, hits)
        want = weights[hits[0]]
        got = torch.empty(want.shape)
        fans = None
        if isinstance(row.initializer, VarianceScalingSpec) and row.resolved is not None:
            fans = (row.resolved.fan_in, row.resolved.fan_out)
        Initializer(row.initializer, row.keras_version, rng="tensorflow")(
            got, layout="keras", fans=fans)
        np.testing.assert_array_equal(got.numpy(), want, err_msg=f"{row.layer}/{row.weight}")
        checked += 1
    return checked


def _confidence(plan: Plan) -> dict[str, int]:
    info = plan.draw_order
    assert info is not None
    values = list(info.confidence.values())
    return {c: values.count(c) for c in ("certain", "inferred", "uncertain")}


def _replayed(source: str | Path, name: str,
              confidence: dict[str, int]) -> tuple[Plan, int]:
    plan = kerasinit.porting.read(source)
    assert _confidence(plan) == confidence, name
    replayed = plan.replay(SEED)
    config_order = plan.replay(SEED, order="config")
    differ = sum(a.initializer != b.initializer for a, b in
                 zip(replayed.rows, config_order.rows, strict=True))
    return replayed, differ


def test_mobilenet_v2_from_a_keras_file(default_apps: Path) -> None:
    """Config order = construction order: every draw certain, 53 tensors bit-exact."""
    plan, differ = _replayed(default_apps / "MobileNetV2.keras", "MobileNetV2",
                             {"certain": 53, "inferred": 0, "uncertain": 0})
    assert differ == 0
    assert _check(plan, dict(np.load(default_apps / "MobileNetV2.npz"))) == 53


def test_resnet50_shortcuts_from_numbered_names(default_apps: Path) -> None:
    """ResNet constructs each block's shortcut (``_0_conv``) first; the config lists it after
    the main path's second conv. The numbered names order them: 16 inferred, 0 uncertain."""
    plan, differ = _replayed(default_apps / "ResNet50.json", "ResNet50",
                             {"certain": 38, "inferred": 16, "uncertain": 0})
    assert differ == 12  # the config order would get 12 of the 54 kernels wrong
    sources = {r.layer: r.seed_source for r in plan.rows if r.weight == "kernel"}
    assert sources["conv2_block1_0_conv"] == "draw #1, inferred"
    assert sources["conv1_conv"] == "draw #0"
    assert _check(plan, dict(np.load(default_apps / "ResNet50.npz"))) == 54


@pytest.mark.slow
@pytest.mark.parametrize(("name", "tensors", "confidence", "differ"), [
    # automatic names conv2d_N / batch_normalization_N order the parallel branches
    ("InceptionV3", 95, {"certain": 6, "inferred": 89, "uncertain": 0}, 66),
    # the skip conv2d (automatic name) vs block2_sepconv1: nothing in the names; the shorter
    # branch is guessed first, which is what the code does
    ("Xception", 75, {"certain": 29, "inferred": 0, "uncertain": 12}, 20),
    # the stem and downsampling Sequentials are constructed before any stage block
    ("ConvNeXtTiny", 59, {"certain": 56, "inferred": 0, "uncertain": 3}, 48),
])
def test_applications_replay_bit_exact(slow_apps: Path, name: str, tensors: int,
                                       confidence: dict[str, int], differ: int) -> None:
    plan, got_differ = _replayed(slow_apps / f"{name}.json", name, confidence)
    assert got_differ == differ
    assert _check(plan, dict(np.load(slow_apps / f"{name}.npz"))) == tensors
