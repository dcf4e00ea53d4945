"""Statistical checks of kerasinit.nn layers against Keras's exact distributions.

Battery per case (as in tests/bridge/test_stats.py / parity-statistics.md):

1. exact support: every value inside the Keras target's support;
2. ``scipy.stats.ks_1samp`` against the exact target CDF, rejecting at p < ALPHA;
3. a variance z-test with the kurtosis-aware standard error (known mean 0):
   z = (m₂ - σ²) / (σ² √((κ - 1)/n)), κ = 1.8 (uniform), 2.3655 (±2σ truncated normal).

ALPHA = 1e-6 per check (two-sided z limit 4.89), fixed generator seeds (deterministic run).
The smallest std error the variance test detects with power 0.99 is
δ = (4.89 + 2.33) √((κ - 1)/n) / 2, stated per case in ``CASES`` and checked by
``test_power_claims``: n = 102 400 TN (depthwise) 1.32 %; n = 131 072 TN (transposed conv)
1.16 %; n = 1 280 000 uniform / TN (embedding) 0.29 % / 0.37 %; n = 786 432 uniform (MHA q/k/v)
0.36 %; n = 262 144 uniform (MHA output, LSTM kernel) 0.63 %.
Targets are written out from layer-map.md formulas, not taken from kerasinit.
Negative controls: torch's own defaults / naive ports fail the same battery.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.stats as st
import torch
from torch import nn

from kerasinit import nn as knn

C = 0.87962566103423978
ALPHA = 1e-6
Z_CRIT = float(st.norm.isf(ALPHA / 2))
Z_POWER = float(st.norm.isf(0.01))
K_UNIFORM, K_TN = 1.8, 2.3655


def uniform(limit: float) -> tuple[st.rv_continuous, float, float, float]:
    return st.uniform(loc=-limit, scale=2 * limit), -limit, limit, K_UNIFORM


def tn(fan_in: float, scale: float = 2.0) -> tuple[st.rv_continuous, float, float, float]:
    sigma = math.sqrt(scale / fan_in) / C
    return st.truncnorm(-2, 2, scale=sigma), -2 * sigma, 2 * sigma, K_TN


def _sample(make: Callable[[torch.Generator], nn.Module], name: str) -> np.ndarray:
    module = make(torch.Generator().manual_seed(20260101))
    return module.get_parameter(name).detach().double().numpy().ravel()


def battery(x: np.ndarray, target: tuple[st.rv_continuous, float, float, float]) -> dict[str, bool]:
    dist, low, high, kurt = target
    n = x.size
    var = float(dist.var())
    z = (float(np.mean(x * x)) - var) / (var * math.sqrt((kurt - 1) / n))
    return {"support": bool(x.min() >= low and x.max() <= high),
            "ks": bool(st.ks_1samp(x, dist.cdf).pvalue >= ALPHA),
            "variance": abs(z) < Z_CRIT}


def delta(n: int, kurt: float) -> float:
    return (Z_CRIT + Z_POWER) * math.sqrt((kurt - 1) / n) / 2


# (id, factory(generator), parameter, target, n, smallest detectable std error)
CASES = [
    ("depthwise he_normal in=1024 m=4 5x5",
     lambda g: knn.DepthwiseConv2d(1024, 5, depth_multiplier=4, depthwise_initializer="he_normal",
                                   generator=g),
     "weight", tn(1024 * 25), 102_400, 0.0132),
    ("convT he_normal 128->64 4x4",
     lambda g: knn.ConvTranspose2d(128, 64, 4, kernel_initializer="he_normal", generator=g),
     "weight", tn(64 * 16), 131_072, 0.0116),
    ("embedding default U(±0.05)", lambda g: knn.Embedding(20000, 64, generator=g),
     "weight", uniform(0.05), 1_280_000, 0.0029),
    ("embedding he_normal fan_in=V",
     lambda g: knn.Embedding(20000, 64, embeddings_initializer="he_normal", generator=g),
     "weight", tn(20000), 1_280_000, 0.0037),
    ("mha q/k/v glorot Keras 3.15",
     lambda g: knn.MultiheadAttention(512, 8, keras_version="3.15", generator=g),
     "in_proj_weight", uniform(math.sqrt(6 / (512 + 512))), 786_432, 0.0036),
    ("mha q/k/v glorot Keras 3.14",
     lambda g: knn.MultiheadAttention(512, 8, keras_version="3.14", generator=g),
     "in_proj_weight", uniform(math.sqrt(6 / (8 * 512 + 64 * 512))), 786_432, 0.0036),
    ("mha output glorot tf_keras",
     lambda g: knn.MultiheadAttention(512, 8, keras_version="2", generator=g),
     "out_proj.weight", uniform(math.sqrt(6 / (8 * 64 + 8 * 512))), 262_144, 0.0063),
    ("lstm kernel glorot 256->256", lambda g: knn.LSTM(256, 256, generator=g),
     "weight_ih_l0", uniform(math.sqrt(6 / (256 + 1024))), 262_144, 0.0063),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_keras_distribution(case: tuple) -> None:  # type: ignore[type-arg]
    _, make, name, target, n, _ = case
    x = _sample(make, name)
    assert x.size == n
    assert battery(x, target) == {"support": True, "ks": True, "variance": True}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_power_claims(case: tuple) -> None:  # type: ignore[type-arg]
    _, _, _, target, n, claimed = case
    assert delta(n, target[3]) == pytest.approx(claimed, abs=5e-5)


def test_negative_control_torch_mha_default_fails_keras_315() -> None:
    """torch's xavier on the packed (3E, E) in_proj (std .0313) is not Keras 3.15's .0442."""
    torch.manual_seed(1)
    x = nn.MultiheadAttention(512, 8).in_proj_weight.detach().double().numpy().ravel()
    result = battery(x, uniform(math.sqrt(6 / 1024)))
    assert result["support"] and not result["ks"] and not result["variance"]


def test_negative_control_naive_depthwise_he_normal_fails() -> None:
    """torch's kaiming_normal_ on the depthwise weight uses fan_in = K: √in too wide."""
    w = torch.empty(4096, 1, 5, 5)
    nn.init.kaiming_normal_(w, nonlinearity="relu", generator=torch.Generator().manual_seed(0))
    result = battery(w.double().numpy().ravel(), tn(1024 * 25))
    assert result == {"support": False, "ks": False, "variance": False}


def test_negative_control_two_percent_scale_error_is_detected() -> None:
    """A 2 % std error on the depthwise case (above its 1.32 % δ) fails the variance test."""
    x = _sample(CASES[0][1], "weight") * 1.02
    assert not battery(x, CASES[0][3])["variance"]
