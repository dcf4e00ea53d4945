"""rng="tensorflow" against live Keras 3 (TF backend) and tf_keras: exact weights per layer.

Randomized (fixed numpy seed) over shapes, seeds and layouts: Linear <- Dense, Conv2d <-
Conv2D, depthwise Conv2d <- DepthwiseConv2D, GRU <- GRU (kernel, gate order), Embedding <-
Embedding. The torch parameter must equal Keras's kernel mapped by hand (not via kerasinit's
layouts) bit for bit; Orthogonal (GRU recurrent kernel) within 2e-6 relative.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit import layouts
from kerasinit.bridge.rng import libm, native

pytestmark = pytest.mark.tf
tf = pytest.importorskip("tensorflow")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")
tf_keras = pytest.importorskip("tf_keras")

RNG = np.random.default_rng(20261124)
SEEDS = [0, 1, 2**31 - 1, -7, 2**32 + 11, int(RNG.integers(2, 2**31 - 3))]
FAMILIES = [
    ("GlorotUniform", {}), ("HeNormal", {}), ("LecunNormal", {}),
    ("RandomNormal", {"mean": -0.2, "stddev": 0.7}),
    ("RandomUniform", {"minval": 0.1, "maxval": 0.4}),
    ("TruncatedNormal", {"mean": 0.0, "stddev": 0.02}),
    ("VarianceScaling", {"scale": 2.5, "mode": "fan_avg", "distribution": "untruncated_normal"}),
]


def _keras_init(module: Any, family: int, seed: int) -> Any:
    cls, config = FAMILIES[family]
    return getattr(module.initializers, cls)(seed=seed, **config)


def _ours(family: int, seed: int, flavour: str) -> kerasinit.Initializer:
    cls, config = FAMILIES[family]
    return kerasinit.get({"class_name": cls, "config": dict(config)}, seed=seed,
                         rng="tensorflow", keras_version=flavour)


def _np(v: Any) -> torch.Tensor:
    v = v.numpy() if hasattr(v, "numpy") else v
    return torch.from_numpy(np.array(v, dtype=np.float32))


def _dense(m: Any, init: Any, i: int, o: int) -> torch.Tensor:
    layer = m.layers.Dense(o, kernel_initializer=init)
    layer.build((None, i))
    return _np(layer.kernel).t()


def _conv(m: Any, init: Any, i: int, o: int) -> torch.Tensor:
    layer = m.layers.Conv2D(o, (3, 2), kernel_initializer=init)
    layer.build((None, 9, 9, i))
    return _np(layer.kernel).permute(3, 2, 0, 1)


CASES = [(f, s, fl, kind) for f in range(len(FAMILIES)) for s in SEEDS[:3] for fl in ("3", "2")
         for kind in ("linear", "conv")]
CASES += [(int(RNG.integers(len(FAMILIES))), s, fl, kind) for s in SEEDS[3:] for fl in ("3", "2")
          for kind in ("linear", "conv")]


@pytest.mark.parametrize(("family", "seed", "flavour", "kind"), CASES)
def test_linear_and_conv(family: int, seed: int, flavour: str, kind: str) -> None:
    m = keras if flavour == "3" else tf_keras
    i, o = (int(x) for x in RNG.integers(1, 40, 2))
    build: Callable[..., torch.Tensor] = _dense if kind == "linear" else _conv
    expected = build(m, _keras_init(m, family, seed), i, o)
    w = torch.empty(o, i) if kind == "linear" else torch.empty(o, i, 3, 2)
    assert torch.equal(_ours(family, seed, flavour)(w), expected)


@pytest.mark.parametrize("flavour", ["3", "2"])
@pytest.mark.parametrize("mult", [1, 3])
def test_depthwise(flavour: str, mult: int) -> None:
    m = keras if flavour == "3" else tf_keras
    cin = 5
    layer = m.layers.DepthwiseConv2D((3, 3), depth_multiplier=mult,
                                     depthwise_initializer=_keras_init(m, 0, 42))
    layer.build((None, 8, 8, cin))
    k = _np(getattr(layer, "depthwise_kernel", None) if flavour == "2" else layer.kernel)
    expected = k.permute(2, 3, 0, 1).reshape(cin * mult, 1, 3, 3)
    w = torch.empty(cin * mult, 1, 3, 3)
    assert torch.equal(_ours(0, 42, flavour)(w, layout=layouts.Depthwise(mult)), expected)


@pytest.mark.parametrize("flavour", ["3", "2"])
def test_gru_kernel_and_recurrent(flavour: str) -> None:
    m = keras if flavour == "3" else tf_keras
    x, h = 7, 5
    layer = m.layers.GRU(h, kernel_initializer=_keras_init(m, 0, 3),
                         recurrent_initializer=m.initializers.Orthogonal(seed=4))
    layer.build((None, 2, x))
    kernel, rec = _np(layer.cell.kernel), _np(layer.cell.recurrent_kernel)

    def torch_order(k: torch.Tensor) -> torch.Tensor:
        """Keras (z, r, h) gate columns -> torch (r, z, n) gate rows."""
        z, r, n = k.t().chunk(3, 0)
        return torch.cat([r, z, n], 0)

    w_ih = _ours(0, 3, flavour)(torch.empty(3 * h, x), layout="gru")
    assert torch.equal(w_ih, torch_order(kernel))
    orth = kerasinit.get("orthogonal", seed=4, rng="tensorflow", keras_version=flavour)
    w_hh = orth(torch.empty(3 * h, h), layout="gru")
    expected = torch_order(rec)
    assert float((w_hh - expected).norm() / expected.norm()) < 2e-6


@pytest.mark.parametrize("flavour", ["3", "2"])
@pytest.mark.parametrize("seed", [5, 2**31 + 5])
def test_embedding(flavour: str, seed: int) -> None:
    m = keras if flavour == "3" else tf_keras
    layer = m.layers.Embedding(50, 6, embeddings_initializer=_keras_init(m, 3, seed))
    layer.build((None, 4))
    w = _ours(3, seed, flavour)(torch.empty(50, 6), layout="embedding")
    assert torch.equal(w, _np(layer.embeddings))


def test_large_tensors_use_tables_and_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """The NumPy fallback's tabulated Box-Muller path (built once 2^21 values are drawn here),
    live Keras (the C kernels never tabulate)."""
    monkeypatch.setattr(libm.BoxMuller, "TABLE_THRESHOLD", 1 << 21)
    monkeypatch.setattr(libm.BoxMuller, "TABLE_MIN_CALL", 0)
    for cls in ("RandomNormal", "TruncatedNormal"):
        k = keras.initializers.get({"class_name": cls, "config": {"seed": 9, "stddev": 1.0}})
        expected = _np(k((1500, 1500)))
        with native.disabled():
            w = kerasinit.get({"class_name": cls, "config": {"seed": 9, "stddev": 1.0}},
                              rng="tensorflow")(torch.empty(1500, 1500), layout="keras")
        assert torch.equal(w, expected)
    assert "cpu" in libm.BoxMuller._tables


def test_seed_generator_advances_like_keras() -> None:
    gen = keras.random.SeedGenerator(123)
    k = keras.initializers.GlorotUniform(seed=gen)
    config = {"class_name": "GlorotUniform", "config": {"seed": {
        "module": "keras.random", "class_name": "SeedGenerator",
        "config": {"seed": 123, "name": "seed_generator"}, "registered_name": None}}}
    ours = kerasinit.get(config, rng="tensorflow")
    for _ in range(3):
        assert torch.equal(ours(torch.empty(4, 6), layout="keras"), _np(k((4, 6))))
