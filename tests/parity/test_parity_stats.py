"""The parity battery on synthetic samples (no TensorFlow needed).

Every sample is drawn with a fixed numpy seed, so the tests are deterministic. Unless stated
otherwise: n = 2^17 per sample, family-wise alpha = 1e-3 with Holm over the checks of a case
(about 10 checks, so the first Holm threshold is 1e-4). At that n and per-check level the
variance z-test detects, with power 0.99, a relative std error of 1.21 % (normal, κ = 3),
0.77 % (uniform, κ = 1.8) and 1.00 % (±2σ truncated normal, κ = 2.366);
``test_power_claims`` checks these numbers. The planted errors below (2 % scale, missing
1/0.8796, untruncated tails, shifted mean, per-gate orthogonal) are all larger than that.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from kerasinit.mappings.distributions import Normal, TruncatedNormal, Uniform
from kerasinit.parity import stats
from kerasinit.parity.stats import Check

N = 1 << 17
ALPHA = 1e-3
C = 0.87962566103423978
LIMIT = math.sqrt(6 / (784 + 256))  # glorot_uniform on Dense(256), 784 inputs
SIGMA = math.sqrt(2 / 784) / C  # he_normal on the same kernel (σ before truncation)

UNIFORM = Uniform(-LIMIT, LIMIT)
TRUNC = TruncatedNormal(0.0, SIGMA, -2 * SIGMA, 2 * SIGMA)
NORMAL = Normal(0.0, 0.05)


def _rng(seed: int = 1234) -> np.random.Generator:
    return np.random.default_rng(seed)


def _trunc_sample(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    out = rng.standard_normal(2 * n)
    out = out[np.abs(out) <= 2.0][:n]
    assert out.size == n
    return out * sigma


def _samples(dist: object, rng: np.random.Generator, n: int = N) -> np.ndarray:
    if isinstance(dist, Uniform):
        return rng.uniform(dist.low, dist.high, n)
    if isinstance(dist, TruncatedNormal):
        return _trunc_sample(rng, n, dist.std)
    assert isinstance(dist, Normal)
    return rng.normal(dist.mean, dist.std, n)


def battery(x: np.ndarray, y: np.ndarray, dist: object, alpha: float = ALPHA) -> list[Check]:
    """The candidate-side and two-sample part of the engine's battery, decided with Holm."""
    t = stats.target_for(dist)
    assert t is not None
    checks = [stats.mean_ztest(x, t, "c"), stats.variance_ztest(x, t, "c"),
              stats.ks_closed_form(x, t, "c"), stats.ks_two_sample(x, y), stats.ad_two_sample(x, y)]
    if math.isfinite(t.low):
        checks.insert(0, stats.support_check(x, t, "c"))
    return stats.holm(checks, alpha)[0]


def failed(checks: list[Check]) -> set[str]:
    return {c.name.split(" (")[0] for c in checks if not c.passed}


@pytest.mark.parametrize("dist", [UNIFORM, TRUNC, NORMAL], ids=["uniform", "truncnorm", "normal"])
def test_known_good_passes(dist: object) -> None:
    """Exact samples from the target pass every check (n = 2^17, alpha = 1e-3, Holm)."""
    rng = _rng()
    assert failed(battery(_samples(dist, rng), _samples(dist, rng), dist)) == set()


@pytest.mark.parametrize("dist", [UNIFORM, TRUNC, NORMAL], ids=["uniform", "truncnorm", "normal"])
def test_two_percent_scale_error_fails(dist: object) -> None:
    """A 2 % std error (> the 1.21 % detectable at n = 2^17) fails the variance z-test."""
    rng = _rng()
    x = _samples(dist, rng) * 1.02
    assert "variance z" in failed(battery(x, _samples(dist, rng), dist))


def test_untruncated_normal_fails_support_and_ks() -> None:
    """kaiming_normal_-like: same std, no truncation -> support and KS fail, variance cannot."""
    rng = _rng()
    x = rng.normal(0.0, C * SIGMA, N)
    got = failed(battery(x, _samples(TRUNC, rng), TRUNC))
    assert {"support", "KS vs closed form"} <= got
    assert "variance z" not in got


def test_missing_truncation_factor_fails() -> None:
    """TN with σ = realised std (no 1/0.8796): the std is 12 % too small."""
    rng = _rng()
    x = _trunc_sample(rng, N, SIGMA * C)
    assert {"variance z", "KS vs closed form", "KS 2-sample vs TF"} <= failed(
        battery(x, _samples(TRUNC, rng), TRUNC))


def test_shifted_mean_fails() -> None:
    """A mean shift of 0.05·σ is 18 standard errors at n = 2^17."""
    rng = _rng()
    x = _samples(NORMAL, rng) + 0.05 * 0.05
    assert "mean z" in failed(battery(x, _samples(NORMAL, rng), NORMAL))


def test_support_is_dtype_rounded() -> None:
    t = stats.target_for(UNIFORM)
    assert t is not None
    edge = np.array([stats.round_to_dtype(LIMIT, "float32")])
    assert stats.support_check(edge, t, "c").passed
    assert not stats.support_check(edge * (1 + 1e-6), t, "c").passed
    assert not stats.support_check(np.array([np.nan]), t, "c").passed


def test_orthogonality_on_keras_axis() -> None:
    """A Haar frame passes; per-gate orthogonal blocks of an LSTM (H, 4H) kernel fail."""
    rng = _rng()
    h = 32
    q, r = np.linalg.qr(rng.standard_normal((4 * h, h)))
    whole = (q * np.sign(np.diag(r))).T  # Keras (H, 4H): rows orthonormal
    assert stats.orthogonality_check([whole], 1.0, "c").passed
    assert not stats.orthogonality_check([whole], 1.5, "c").passed  # wrong gain
    blocks = [np.linalg.qr(rng.standard_normal((h, h)))[0] for _ in range(4)]
    per_gate = np.concatenate(blocks, axis=1)  # each (H, H) block orthogonal, MMᵀ = 4I
    assert not stats.orthogonality_check([per_gate], 1.0, "c").passed


def test_exact_check() -> None:
    eye = 2.0 * np.eye(3, 5)
    assert stats.exact_check(eye.astype(np.float32).astype(float), eye, "x").passed
    assert not stats.exact_check(eye * 1.001, eye, "x").passed
    assert not stats.exact_check(eye[:2], eye, "x").passed


def test_holm_step_down() -> None:
    """Holm: sorted p = (0.0001, 0.01, 0.02, 0.5) at alpha 0.05 -> thresholds 0.0125, 0.0167,
    0.025, 0.05: reject the first three (0.02 < 0.025), keep 0.5."""
    ps = [0.02, 0.5, 0.0001, 0.01]
    out, adjusted = stats.holm([Check(str(i), 0.0, p, True) for i, p in enumerate(ps)], 0.05)
    assert [c.passed for c in out] == [False, True, False, False]
    assert [c.threshold for c in out] == pytest.approx([0.025, 0.05, 0.0125, 0.05 / 3])
    assert adjusted == pytest.approx(0.0004)
    # step-down stops at the first non-rejection
    out, _ = stats.holm([Check("a", 0, 0.04, True), Check("b", 0, 0.03, True)], 0.05)
    assert [c.passed for c in out] == [True, True]  # 0.03 > 0.025: stop, although 0.04 < 0.05
    # a deterministic failure makes the case p-value 0
    _, adj = stats.holm([Check("s", 1.0, None, False), Check("b", 0, 0.9, True)], 0.05)
    assert adj == 0.0


def test_power_claims() -> None:
    """The numbers in the module docstring (n = 2^17, per-check alpha 1e-4, power 0.99)."""
    assert stats.detectable_std_error(3.0, N, 1e-4) == pytest.approx(0.0121, abs=1e-4)
    assert stats.detectable_std_error(1.8, N, 1e-4) == pytest.approx(0.0077, abs=1e-4)
    kurt = stats.target_for(TRUNC).kurtosis  # type: ignore[union-attr]
    assert kurt == pytest.approx(2.3662, abs=1e-3)
    assert stats.detectable_std_error(kurt, N, 1e-4) == pytest.approx(0.0100, abs=1e-4)


def test_fast_cdf_matches_scipy() -> None:
    import scipy.stats as st

    x = np.linspace(-3 * SIGMA, 3 * SIGMA, 101)
    t = stats.target_for(TRUNC)
    assert t is not None
    np.testing.assert_allclose(t.cdf(x), st.truncnorm(-2, 2, scale=SIGMA).cdf(x), atol=1e-12)
    inner = x[np.abs(x) < 1.9 * SIGMA]
    np.testing.assert_allclose(t.ppf(t.cdf(inner)), inner, rtol=1e-9, atol=1e-15)


def test_ad_extrapolates_below_scipy_floor() -> None:
    """Far apart samples: the AD p-value goes below SciPy's 0.001 floor (extrapolated)."""
    rng = _rng()
    c = stats.ad_two_sample(rng.normal(0, 1, 5000), rng.normal(0, 1.3, 5000))
    assert c.p_value is not None and c.p_value < 1e-6 and "extrapolated" in c.note


def test_import_does_not_load_tensorflow() -> None:
    code = ("import sys, kerasinit.parity, kerasinit.parity.cases, kerasinit.parity.cli; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_tensorflow_error() -> None:
    """Without TensorFlow, drawing raises ParityDependencyError naming the parity extra."""
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "from kerasinit import parity\n"
        "try:\n"
        "    parity.compare('he_normal', shape=(4, 4), samples=16)\n"
        "except parity.ParityDependencyError as e:\n"
        "    assert \"pip install 'kerasinit[parity]'\" in str(e), e\n"
        "    assert isinstance(e, __import__('kerasinit').KerasInitError)\n"
        "    print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "ok"
