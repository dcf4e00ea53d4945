"""kerasinit against live Keras 3 (TensorFlow backend) on real layer shapes.

For each canonical random initializer and five layer kernels (Dense (784, 256), Conv2D
(3, 3, 64, 128), DepthwiseConv2D (3, 3, 64, 4), Embedding (1000, 64), LSTM recurrent
(256, 1024)), Keras draws its sample once (fixed int seeds; small kernels are drawn with
several seeds until n >= 2^16 values) and kerasinit samples the corresponding torch layout
(Linear (256, 784), Conv2d (128, 64, 3, 3), depthwise Conv2d (256, 1, 3, 3) with
``Depthwise(4)``, Embedding (1000, 64) with ``"embedding"``, LSTM ``weight_hh`` (1024, 256)) from
one fixed ``torch.Generator``. Checks per case:

* support: where the distribution is bounded (uniform, truncated normal), both samples lie in
  [-B, B] (B from the reference formulas, computed here) and both maxima are within 2% of B;
* variance: two-sample z on the variances, z = (s1² - s2²) / sqrt((m4_1 - s1⁴)/n1 +
  (m4_2 - s2⁴)/n2), |z| < 5 (two-sided α = 5.7e-7 per case);
* shape of the distribution: ``scipy.stats.ks_2samp`` p > 1e-6 (α = 1e-6 per case).

With n = m >= 2^16 the variance z detects a std error of about 2.0% for normal-family
samples (kurtosis 3: s.e. of the variance ratio sqrt(4/n) = 0.78%; 5 s.e. = 3.9% in variance)
and 1.2% for uniform ones (kurtosis 1.8); KS detects a CDF difference of
sqrt(-ln(α/2) / n) ≈ 0.015 (e.g. untruncated vs truncated normal of equal std). 55 cases, so the
family-wise false-alarm rate is below 1e-4; the seeds are fixed, so the run is deterministic.
Deterministic initializers (identity, zeros, ones, constant) are compared value by value
through a hand-written torch -> Keras axis map.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
stats = pytest.importorskip("scipy.stats")

import kerasinit  # noqa: E402
from kerasinit import layouts  # noqa: E402

pytestmark = pytest.mark.tf

C = 0.87962566103423978
N_MIN = 2**16
Z_MAX = 5.0
KS_ALPHA = 1e-6

# name -> (Keras kernel shape, torch shape, layout, torch -> Keras map written by hand)
LAYERS: dict[str, tuple[tuple[int, ...], tuple[int, ...], Any,
                        Callable[[torch.Tensor], torch.Tensor]]] = {
    "dense": ((784, 256), (256, 784), "torch", lambda w: w.t()),
    "conv2d": ((3, 3, 64, 128), (128, 64, 3, 3), "torch", lambda w: w.permute(2, 3, 1, 0)),
    "depthwise": ((3, 3, 64, 4), (256, 1, 3, 3), layouts.Depthwise(4),
                  lambda w: w.reshape(64, 4, 3, 3).permute(2, 3, 0, 1)),
    "embedding": ((1000, 64), (1000, 64), "embedding", lambda w: w),
    "lstm_recurrent": ((256, 1024), (1024, 256), "torch", lambda w: w.t()),
}
#: Keras fans of each kernel (reference §3.1 / §10, by hand)
FANS = {"dense": (784, 256), "conv2d": (576, 1152), "depthwise": (576, 36),
        "embedding": (1000, 64), "lstm_recurrent": (256, 1024)}


def keras_objects(seed: int) -> dict[str, Any]:
    ki = keras.initializers
    return {
        "glorot_uniform": ki.GlorotUniform(seed=seed),
        "glorot_normal": ki.GlorotNormal(seed=seed),
        "he_uniform": ki.HeUniform(seed=seed),
        "he_normal": ki.HeNormal(seed=seed),
        "lecun_uniform": ki.LecunUniform(seed=seed),
        "lecun_normal": ki.LecunNormal(seed=seed),
        "variance_scaling": ki.VarianceScaling(0.5, "fan_out", "truncated_normal", seed=seed),
        "random_normal": ki.RandomNormal(mean=0.0, stddev=0.05, seed=seed),
        "random_uniform": ki.RandomUniform(-0.05, 0.05, seed=seed),
        "truncated_normal": ki.TruncatedNormal(mean=0.0, stddev=0.05, seed=seed),
        "orthogonal": ki.Orthogonal(gain=1.0, seed=seed),
    }


def bound(name: str, layer: str) -> float | None:
    """The support bound B from the reference closed forms (§4.1), or None if unbounded."""
    fi, fo = FANS[layer]
    return {
        "glorot_uniform": math.sqrt(6 / (fi + fo)),
        "glorot_normal": 2 * math.sqrt(2 / (fi + fo)) / C,
        "he_uniform": math.sqrt(6 / fi),
        "he_normal": 2 * math.sqrt(2 / fi) / C,
        "lecun_uniform": math.sqrt(3 / fi),
        "lecun_normal": 2 * math.sqrt(1 / fi) / C,
        "variance_scaling": 2 * math.sqrt(0.5 / fo) / C,
        "random_uniform": 0.05,
        "truncated_normal": 0.1,
    }.get(name)


_CACHE: dict[tuple[str, str], np.ndarray] = {}


def keras_sample(name: str, layer: str) -> np.ndarray:
    if (name, layer) not in _CACHE:
        kshape = LAYERS[layer][0]
        draws = math.ceil(N_MIN / math.prod(kshape))
        parts = [np.asarray(keras_objects(1000 + i)[name](kshape, dtype="float32")).ravel()
                 for i in range(draws)]
        _CACHE[(name, layer)] = np.concatenate(parts).astype(np.float64)
    return _CACHE[(name, layer)]


def kerasinit_sample(name: str, layer: str) -> np.ndarray:
    kshape, tshape, layout, _ = LAYERS[layer]
    draws = math.ceil(N_MIN / math.prod(kshape))
    init = kerasinit.get(keras_objects(0)[name])  # the live Keras object, duck-typed
    g = torch.Generator().manual_seed(20260 + len(name) + len(layer))
    parts = [init(torch.empty(tshape), layout=layout, generator=g).double().numpy().ravel()
             for _ in range(draws)]
    return np.concatenate(parts)


def variance_z(x: np.ndarray, y: np.ndarray) -> float:
    vx, vy = x.var(), y.var()
    m4x, m4y = np.mean((x - x.mean()) ** 4), np.mean((y - y.mean()) ** 4)
    se = math.sqrt((m4x - vx**2) / x.size + (m4y - vy**2) / y.size)
    return float((vx - vy) / se) if se > 0 else 0.0


NAMES = list(keras_objects(0))


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("name", NAMES)
def test_distribution_matches_keras(name: str, layer: str) -> None:
    x = keras_sample(name, layer)
    y = kerasinit_sample(name, layer)
    assert x.size >= N_MIN and y.size == x.size
    b = bound(name, layer)
    if b is not None:
        assert np.abs(y).max() <= b * (1 + 1e-6), "kerasinit sample outside the Keras support"
        assert np.abs(x).max() <= b * (1 + 1e-6), "Keras sample outside the reference bound"
        assert np.abs(x).max() >= 0.98 * b and np.abs(y).max() >= 0.98 * b
    vx, vy = x.var(), y.var()
    if name == "orthogonal":
        # a frame's squared entries sum to min(rows, cols) exactly, in both
        kshape = LAYERS[layer][0]
        rows, cols = math.prod(kshape[:-1]), kshape[-1]
        per_draw = min(rows, cols) / (rows * cols)
        assert float(np.mean(x**2)) == pytest.approx(per_draw, rel=1e-5)
        assert float(np.mean(y**2)) == pytest.approx(per_draw, rel=1e-5)
    else:
        z = variance_z(x, y)
        assert abs(z) < Z_MAX, f"variance ratio {vy / vx:.4f} (z = {z:.2f})"
    p = stats.ks_2samp(x, y).pvalue
    assert p > KS_ALPHA, f"KS p = {p:.3g}"


@pytest.mark.parametrize("layer", list(LAYERS))
def test_describe_fans_equal_fans_implied_by_keras_he_uniform(layer: str) -> None:
    """Keras he_uniform: limit = sqrt(6 / fan_in), variance = 2 / fan_in."""
    kshape, tshape, layout, _ = LAYERS[layer]
    x = keras_sample("he_uniform", layer)
    from_max = 6.0 / float(np.abs(x).max()) ** 2
    from_var = 2.0 / float(x.var())
    r = kerasinit.describe("he_uniform", tshape, layout=layout)
    assert r.keras_shape == kshape
    assert r.fan_in == pytest.approx(from_max, rel=0.01)
    assert r.fan_in == pytest.approx(from_var, rel=0.03)
    assert (r.fan_in, r.fan_out) == FANS[layer]


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("name", ["identity", "zeros", "ones", "constant"])
def test_deterministic_values_equal_keras(name: str, layer: str) -> None:
    kshape, tshape, layout, to_keras = LAYERS[layer]
    if name == "identity" and len(kshape) != 2:
        pytest.skip("Identity is 2-D only")
    ki = keras.initializers
    obj = {"identity": ki.Identity(gain=1.5), "zeros": ki.Zeros(), "ones": ki.Ones(),
           "constant": ki.Constant(0.375)}[name]
    expected = np.asarray(obj(kshape, dtype="float32"))
    ours = kerasinit.get(obj)(torch.full(tshape, 9.0), layout=layout)
    assert np.array_equal(to_keras(ours).numpy(), expected)


def test_tensorflow_route_sample_shapes_match() -> None:
    """Sanity of the harness itself: Keras returns the Keras shape, the map inverts torch's."""
    for kshape, tshape, _, to_keras in LAYERS.values():
        assert tuple(to_keras(torch.empty(tshape)).shape) == kshape
        assert np.asarray(keras.initializers.Zeros()(kshape)).shape == kshape
