"""Statistical tests of the samplers against the exact analytic distributions.

The battery (parity-statistics.md §4) on every case:

1. exact support: every value inside the target's support (bounds rounded to the dtype);
2. ``scipy.stats.ks_1samp`` against the exact target CDF (``truncnorm(a, b, loc, scale)``,
   ``uniform``, ``norm``), rejecting at p < ALPHA;
3. a mean z-test, z = (x̄ - μ) / (σ / √n);
4. a variance z-test with the kurtosis-aware standard error, z = (m₂ - σ²) / (σ² √((κ - 1)/n)),
   m₂ = mean((x - μ)²) with the known mean μ, κ the target's kurtosis (3 normal, 1.8 uniform,
   2.3655 for the ±2σ-truncated normal).

ALPHA = 1e-6 per check (two-sided z limit 4.89); seeds are fixed, so the run is deterministic.
With n = 2^20 (one 1024 x 1024 draw) the smallest std error the variance z-test detects with
power 0.99 is δ = ((4.89 + 2.33) √((κ - 1)/n)) / 2: 0.32 % (uniform), 0.41 % (truncated
normal), 0.50 % (normal); `test_battery_power_claims` checks these numbers. Truncation at equal
std is caught by the support check with any n >= 10^3 and by KS at n >= 2·10^4 (sup|F - Φ| =
0.0167 vs the KS critical value 2.6/√n = 0.0025 at n = 2^20). The negative controls below show
the same battery rejecting ``torch.nn.init.kaiming_normal_`` (untruncated), ``trunc_normal_``
with its absolute bounds and a 2 % scale error.

Expected distributions are written out here from the reference formulas, never taken from
``kerasinit.describe``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.stats as st
import torch

import kerasinit
from kerasinit import layouts
from kerasinit.bridge.layouts import KerasLayout
from kerasinit.bridge.samplers import fill_
from kerasinit.mappings import TruncatedNormal

C = 0.87962566103423978
ALPHA = 1e-6
Z_CRIT = float(st.norm.isf(ALPHA / 2))  # 4.89
Z_POWER = float(st.norm.isf(0.01))  # 2.33: power 0.99
N = 1 << 20


@dataclass(frozen=True)
class Target:
    """An exact target distribution: scipy frozen distribution + its support."""

    dist: st.rv_continuous
    low: float
    high: float
    label: str

    @property
    def mean(self) -> float:
        return float(self.dist.mean())

    @property
    def var(self) -> float:
        return float(self.dist.var())

    @property
    def kurtosis(self) -> float:
        return float(self.dist.stats(moments="k")) + 3.0


def tn(mean: float, sigma: float, a: float = -2.0, b: float = 2.0) -> Target:
    """Normal(mean, sigma) cut to [mean + a·sigma, mean + b·sigma] (Keras: a, b = ∓2)."""
    return Target(st.truncnorm(a, b, loc=mean, scale=sigma), mean + a * sigma, mean + b * sigma,
                  f"TN({mean}, {sigma:.4g}, [{a}, {b}])")


def uniform(low: float, high: float) -> Target:
    return Target(st.uniform(loc=low, scale=high - low), low, high, f"U[{low:.4g}, {high:.4g})")


def normal(mean: float, sigma: float) -> Target:
    return Target(st.norm(loc=mean, scale=sigma), -math.inf, math.inf, f"N({mean}, {sigma:.4g})")


def _round_to(value: float, dtype: torch.dtype) -> float:
    if not math.isfinite(value):
        return value
    return float(torch.tensor(value, dtype=torch.float64).to(dtype).double())


def battery(w: torch.Tensor, target: Target, *, ks: bool = True) -> dict[str, float]:
    """Run the battery; return {check: statistic} for every check that REJECTS (empty = pass).

    Support bounds are the target's bounds rounded to the tensor's dtype (Keras casts its
    bounds to the variable dtype too); for float32/float64 that is the exact bound.
    """
    x = w.detach().double().flatten().numpy()
    n = x.size
    failures: dict[str, float] = {}
    lo, hi = _round_to(target.low, w.dtype), _round_to(target.high, w.dtype)
    if not (np.isfinite(x).all() and x.min() >= lo and x.max() <= hi):
        failures["support"] = float(max(lo - x.min(), x.max() - hi))
    if ks:
        p = float(st.ks_1samp(x, target.dist.cdf).pvalue)
        if p < ALPHA:
            failures["ks"] = p
    mu, var = target.mean, target.var
    z_mean = (x.mean() - mu) / math.sqrt(var / n)
    if abs(z_mean) > Z_CRIT:
        failures["mean"] = float(z_mean)
    m2 = float(np.mean((x - mu) ** 2))
    z_var = (m2 - var) / (var * math.sqrt((target.kurtosis - 1.0) / n))
    if abs(z_var) > Z_CRIT:
        failures["variance"] = float(z_var)
    return failures


def detectable_std_error(kurtosis: float, n: int) -> float:
    """Smallest relative std error the variance z-test finds with power 0.99 at ALPHA."""
    return (Z_CRIT + Z_POWER) * math.sqrt((kurtosis - 1.0) / n) / 2.0


def _gen(seed: int = 1234) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- the cases: (id, fill function, tensor shape, exact target written from the formulas) -----
Fill = Callable[[torch.Tensor], object]


def _init(name: object, **kw: object) -> Fill:
    layout = kw.pop("layout", "torch")
    version = kw.pop("keras_version", None)
    init = kerasinit.get(name, keras_version=version)  # type: ignore[arg-type]
    return lambda w: init(w, layout=layout, generator=_gen())  # type: ignore[arg-type]


CASES: list[tuple[str, Fill, tuple[int, ...], Target]] = [
    ("he_normal/linear", _init("he_normal"), (1024, 1024), tn(0.0, math.sqrt(2 / 1024) / C)),
    ("glorot_normal/depthwise4", _init("glorot_normal", layout=layouts.Depthwise(4)),
     (1024, 1, 32, 32), tn(0.0, math.sqrt(2 / (256 * 1024 + 4 * 1024)) / C)),
    ("lecun_normal/embedding", _init("lecun_normal", layout="embedding"), (4096, 256),
     tn(0.0, math.sqrt(1 / 4096) / C)),
    ("glorot_uniform/mha_query", _init("glorot_uniform", layout=layouts.MHAProjection(4)),
     (1024, 1024), uniform(-math.sqrt(6 / 2048), math.sqrt(6 / 2048))),
    ("he_uniform/conv2d", _init("he_uniform"), (256, 256, 4, 4),
     uniform(-math.sqrt(6 / 4096), math.sqrt(6 / 4096))),
    ("lecun_uniform/gru", _init("lecun_uniform", layout="gru"), (3 * 1024, 342),
     uniform(-math.sqrt(3 / 342), math.sqrt(3 / 342))),
    ("glorot_uniform/bias", _init("glorot_uniform"), (N,), uniform(-math.sqrt(3 / N),
                                                                  math.sqrt(3 / N))),
    ("random_normal", _init("random_normal"), (1024, 1024), normal(0.0, 0.05)),
    ("random_normal/mean", _init({"class_name": "RandomNormal",
                                  "config": {"mean": -1.5, "stddev": 0.3}}),
     (1024, 1024), normal(-1.5, 0.3)),
    ("random_uniform", _init("random_uniform"), (1024, 1024), uniform(-0.05, 0.05)),
    ("random_uniform/shifted", _init({"class_name": "RandomUniform",
                                      "config": {"minval": 2.0, "maxval": 5.0}}),
     (1024, 1024), uniform(2.0, 5.0)),
    ("truncated_normal", _init("truncated_normal"), (1024, 1024), tn(0.0, 0.05)),
    ("truncated_normal/mean", _init({"class_name": "TruncatedNormal",
                                     "config": {"mean": 0.3, "stddev": 0.02}}),
     (1024, 1024), tn(0.3, 0.02)),
    ("vs_untruncated_fan_out", _init({"class_name": "VarianceScaling", "config": {
        "scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"}}),
     (512, 2048), normal(0.0, math.sqrt(3 / 512))),
    ("vs_normal_2.0.8", _init({"class_name": "VarianceScaling", "config": {
        "scale": 2.0, "mode": "fan_in", "distribution": "normal"}}, keras_version="2.0.8"),
     (1024, 1024), tn(0.0, math.sqrt(2 / 1024))),
    ("he_normal_keras1", _init("he_normal", keras_version="1"), (1024, 1024),
     normal(0.0, math.sqrt(2 / 1024))),
]


FLOAT64_CASES = ("he_normal/", "glorot_uniform/mha", "truncated_normal/mean")
PARAMS = [pytest.param(*c, torch.float32, id=f"{c[0]}-float32") for c in CASES] + [
    pytest.param(*c, torch.float64, id=f"{c[0]}-float64")  # three representative cases
    for c in CASES if c[0].startswith(FLOAT64_CASES)]


@pytest.mark.parametrize(("case", "fill", "shape", "target", "dtype"), PARAMS)
def test_battery_accepts_kerasinit(case: str, fill: Fill, shape: tuple[int, ...],
                                   target: Target, dtype: torch.dtype) -> None:
    """n = 2^20 per case, ALPHA = 1e-6 per check; detects a 0.5 % std error (see module doc)."""
    w = torch.full(shape, float("nan"), dtype=dtype)
    fill(w)
    assert w.numel() >= 10**6  # 2^20 (the GRU case: 3·1024·342)
    assert battery(w, target) == {}, target.label


def test_battery_power_claims() -> None:
    """The numbers in the module docstring: < 2 % (in fact < 0.6 %) at n = 2^20."""
    assert detectable_std_error(1.8, N) == pytest.approx(0.0032, abs=1e-4)
    assert detectable_std_error(3.0 - 0.6345, N) == pytest.approx(0.0041, abs=1e-4)
    assert detectable_std_error(3.0, N) == pytest.approx(0.0050, abs=1e-4)
    assert tn(0, 1).kurtosis == pytest.approx(2.3655, abs=1e-4)
    assert tn(0, 1).dist.std() == pytest.approx(C, rel=1e-15)


# -- negative controls: the same battery must reject what is not Keras ------------------------
SIGMA = math.sqrt(2 / 1024) / C  # he_normal on nn.Linear(1024, 1024)
HE = tn(0.0, SIGMA)


def test_battery_rejects_kaiming_normal() -> None:
    """Untruncated, same std: support and KS reject (variance cannot: the std is equal)."""
    w = torch.empty(1024, 1024)
    torch.nn.init.kaiming_normal_(w, nonlinearity="relu", generator=_gen())
    failures = battery(w, HE)
    assert {"support", "ks"} <= set(failures), failures


def test_battery_rejects_trunc_normal_absolute_bounds() -> None:
    """``trunc_normal_(std=σ)`` cuts at ±2.0 absolute, so it is N(0, σ): everything rejects."""
    w = torch.empty(1024, 1024)
    torch.nn.init.trunc_normal_(w, std=SIGMA, generator=_gen())
    assert {"support", "ks", "variance"} <= set(battery(w, HE))
    # the correct torch call (relative bounds) passes the same battery
    torch.nn.init.trunc_normal_(w, std=SIGMA, a=-2 * SIGMA, b=2 * SIGMA, generator=_gen())
    assert battery(w, HE) == {}


@pytest.mark.parametrize("factor", [1.02, 0.98])
def test_battery_rejects_two_percent_scale_error(factor: float) -> None:
    """A 2 % std error on a correct he_normal sample (n = 2^20) fails the variance z-test; a
    2 % too-wide sample also leaves the support."""
    w = torch.empty(1024, 1024)
    kerasinit.get("he_normal")(w, generator=_gen())
    assert battery(w, HE) == {}
    failures = battery(w * factor, HE, ks=False)
    assert "variance" in failures and abs(failures["variance"]) > 2 * Z_CRIT
    assert ("support" in failures) == (factor > 1)
    u = torch.empty(1024, 1024)
    kerasinit.get("glorot_uniform")(u, generator=_gen())
    lim = math.sqrt(6 / 2048)
    assert battery(u, uniform(-lim, lim), ks=False) == {}
    assert "variance" in battery(u * factor, uniform(-lim, lim), ks=False)


def test_battery_rejects_naive_fans() -> None:
    """kaiming_uniform_ on a depthwise weight uses fan_in = k² instead of in·k²."""
    w = torch.empty(1024, 1, 32, 32)
    torch.nn.init.kaiming_uniform_(w, a=0.0, generator=_gen())
    lim = math.sqrt(6 / (256 * 1024))
    assert {"support", "variance"} <= set(battery(w, uniform(-lim, lim), ks=False))


def test_battery_rejects_a_shifted_mean() -> None:
    w = torch.empty(1024, 1024)
    kerasinit.get("random_normal")(w, generator=_gen())
    assert "mean" in battery(w + 0.05 * 0.01, normal(0.0, 0.05), ks=False)


# -- low precision: support exactness + moments ------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["he_normal", "glorot_uniform", "truncated_normal",
                                  "random_uniform", "lecun_normal"])
def test_low_precision_support_and_std(name: str, dtype: torch.dtype) -> None:
    """n = 2^20. Support within the bounds rounded to the dtype; std within 1 % (float16) or
    3 % (bfloat16: 8-bit mantissa); no NaN/inf. KS is skipped: the dtype's grid is coarser
    than the KS critical value."""
    targets = {
        "he_normal": tn(0.0, SIGMA),
        "lecun_normal": tn(0.0, math.sqrt(1 / 1024) / C),
        "glorot_uniform": uniform(-math.sqrt(6 / 2048), math.sqrt(6 / 2048)),
        "truncated_normal": tn(0.0, 0.05),
        "random_uniform": uniform(-0.05, 0.05),
    }
    target = targets[name]
    w = torch.full((1024, 1024), float("nan"), dtype=dtype)
    kerasinit.get(name)(w, generator=_gen())
    assert w.dtype == dtype
    x = w.double()
    assert torch.isfinite(x).all()
    assert float(x.min()) >= _round_to(target.low, dtype)
    assert float(x.max()) <= _round_to(target.high, dtype)
    tol = 0.01 if dtype == torch.float16 else 0.03
    assert float(x.std()) == pytest.approx(math.sqrt(target.var), rel=tol)


# -- the truncated-normal sampler (inverse CDF), tested hard -----------------------------------
def _tn_fill(mean: float, std: float, a: float, b: float, dtype: torch.dtype = torch.float32,
             n: int = N, seed: int = 7) -> torch.Tensor:
    t = torch.full((n,), float("nan"), dtype=dtype)
    dist = TruncatedNormal(mean, std, mean + a * std, mean + b * std)
    fill_(t, dist, KerasLayout(), (n,), _gen(seed))
    return t


@pytest.mark.parametrize(("a", "b"), [(-2.0, 2.0), (-0.5, 3.0), (2.5, 4.0), (-6.0, 6.0),
                                      (-1e-3, 1e-3), (-3.0, -2.9)])
def test_truncated_sampler_general_bounds(a: float, b: float) -> None:
    """n = 2^20, ALPHA = 1e-6: exact support and KS vs truncnorm(a, b) for asymmetric, one-sided,
    wide and very narrow windows."""
    t = _tn_fill(0.0, 1.0, a, b)
    assert battery(t, tn(0.0, 1.0, a, b)) == {}


def test_truncated_sampler_support_always_holds() -> None:
    """Many seeds, dtypes and scales: never a value outside [low, high] (n = 2^16 each)."""
    for seed in range(8):
        for dtype in (torch.float32, torch.float64):
            for mean, std in [(0.0, 1.0), (0.0, 0.05), (3.0, 0.5), (-1e3, 7.0), (0.0, 1e-30),
                              (1e6, 1e-2)]:
                t = _tn_fill(mean, std, -2.0, 2.0, dtype=dtype, n=1 << 16, seed=seed)
                lo = _round_to(mean - 2 * std, dtype)
                hi = _round_to(mean + 2 * std, dtype)
                x = t.double()
                assert float(x.min()) >= lo and float(x.max()) <= hi, (seed, dtype, mean, std)


def test_truncated_sampler_nonzero_mean() -> None:
    """TruncatedNormal(mean=3, stddev=0.5): support [2, 4], KS at n = 2^20."""
    t = _tn_fill(3.0, 0.5, -2.0, 2.0)
    assert float(t.min()) >= 2.0 and float(t.max()) <= 4.0
    assert battery(t, tn(3.0, 0.5)) == {}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_truncated_sampler_tiny_std(dtype: torch.dtype) -> None:
    """std = 1e-8 keeps full relative precision (the standard variate is scaled last)."""
    t = _tn_fill(0.0, 1e-8, -2.0, 2.0, dtype=dtype)
    assert battery(t, tn(0.0, 1e-8)) == {}
    # around a mean of 1.0 only float64 resolves 1e-8; both stay in the support
    t = _tn_fill(1.0, 1e-8, -2.0, 2.0, dtype=dtype)
    x = t.double()
    assert float(x.min()) >= _round_to(1.0 - 2e-8, dtype)
    assert float(x.max()) <= _round_to(1.0 + 2e-8, dtype)
    if dtype == torch.float64:
        assert battery(t, tn(1.0, 1e-8)) == {}


@pytest.mark.parametrize(("std", "dtype"), [(1e30, torch.float32), (1e150, torch.float64)])
def test_truncated_sampler_huge_std(std: float, dtype: torch.dtype) -> None:
    t = _tn_fill(0.0, std, -2.0, 2.0, dtype=dtype)
    assert torch.isfinite(t).all()
    assert battery(t / std, tn(0.0, 1.0)) == {}


def test_truncated_sampler_zero_and_negative_std() -> None:
    """stddev = 0 gives the mean; a negative stddev (Keras does not validate it) is |stddev|."""
    t = _tn_fill(0.25, 0.0, -2.0, 2.0, n=1000)
    assert bool((t == 0.25).all())
    w = torch.empty(1024, 1024)
    kerasinit.get({"class_name": "TruncatedNormal", "config": {"stddev": -0.05}})(
        w, generator=_gen())
    assert battery(w, tn(0.0, 0.05)) == {}


def test_truncated_sampler_matches_scipy_truncnorm_exactly() -> None:
    """Spelled-out form of the brief: ks_1samp vs truncnorm(-2, 2, scale=σ) at n = 2^20."""
    w = torch.empty(1024, 1024)
    kerasinit.he_normal_(w, generator=_gen())
    p = st.ks_1samp(w.double().flatten().numpy(), st.truncnorm(-2, 2, scale=SIGMA).cdf).pvalue
    assert p > ALPHA


# -- orthogonality on the Keras flattening ------------------------------------------------------
def _keras_matrix(w: torch.Tensor, kind: str, m: int = 1) -> torch.Tensor:
    """The Keras kernel of a torch weight, flattened as Keras does: (prod(shape[:-1]), shape[-1]).

    torch Linear/Conv/RNN (out, in, *k) -> Keras (*k, in, out); depthwise (in*m, 1, *k) ->
    (*k, in, m) with torch channel c*m + j = Keras [..., c, j] (layer-map.md).
    """
    if kind == "torch":
        k = w.permute(*range(2, w.dim()), 1, 0)
    else:
        k = w.reshape(w.shape[0] // m, m, *w.shape[2:]).permute(*range(2, w.dim()), 0, 1)
    return k.reshape(-1, k.shape[-1]).double()


ORTHO = [
    ("linear_tall", (64, 128), "torch", 1),  # Keras (128, 64): columns orthonormal
    ("linear_wide", (128, 64), "torch", 1),  # Keras (64, 128): rows orthonormal
    ("conv2d", (32, 16, 3, 3), "torch", 1),  # (144, 32)
    ("conv2d_wide", (256, 4, 3, 3), "torch", 1),  # (36, 256)
    ("lstm_weight_hh", (4 * 64, 64), "torch", 1),  # Keras (64, 256), the whole matrix
    ("depthwise1", (64, 1, 3, 3), "depthwise", 1),  # (576, 1): one unit vector
    ("depthwise4", (64, 1, 3, 3), "depthwise", 4),  # (144, 4)
]


@pytest.mark.parametrize("gain", [1.0, 1.5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize(("case", "shape", "kind", "m"), ORTHO, ids=[c[0] for c in ORTHO])
def test_orthogonal_on_keras_flattening(case: str, shape: tuple[int, ...], kind: str, m: int,
                                        dtype: torch.dtype, gain: float) -> None:
    """W Wᵀ = gain² I (wide) or Wᵀ W = gain² I (tall) on Keras's flattening, not torch's."""
    w = torch.empty(shape, dtype=dtype)
    layout = layouts.Depthwise(m) if kind == "depthwise" else "torch"
    kerasinit.orthogonal_(w, gain=gain, layout=layout, generator=_gen())
    k = _keras_matrix(w, kind, m)
    rows, cols = k.shape
    gram = k.t() @ k if rows >= cols else k @ k.t()
    eye = torch.eye(min(rows, cols), dtype=torch.float64)
    tol = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 5e-3,
           torch.bfloat16: 4e-2}[dtype]
    torch.testing.assert_close(gram, gain**2 * eye, atol=tol * gain**2 * 4, rtol=0)


def test_orthogonal_is_not_per_gate_and_not_torch_flattening() -> None:
    """Controls: the LSTM gate blocks are not orthogonal on their own, and the depthwise
    tensor is not orthogonal on torch's flattening (what ``torch.nn.init.orthogonal_`` makes)."""
    w = torch.empty(4 * 64, 64, dtype=torch.float64)
    kerasinit.orthogonal_(w, generator=_gen())
    block = w[:64]  # the input gate, (64, 64)
    assert not torch.allclose(block @ block.t(), torch.eye(64, dtype=torch.float64), atol=0.1)
    d = torch.empty(64, 1, 3, 3, dtype=torch.float64)
    kerasinit.orthogonal_(d, layout=layouts.Depthwise(1), generator=_gen())
    assert float(d.norm()) == pytest.approx(1.0, rel=1e-12)  # one unit vector of length 576
    naive = torch.empty(64, 1, 3, 3, dtype=torch.float64)
    torch.nn.init.orthogonal_(naive, generator=_gen())
    assert float(naive.norm()) == pytest.approx(3.0, rel=1e-12)  # 9 orthonormal columns
    k = _keras_matrix(naive, "depthwise")
    assert float(k.t() @ k) != pytest.approx(1.0, rel=1e-3)


def test_orthogonal_entries_are_haar_scaled() -> None:
    """Entries of a Haar frame with orthonormal columns of length n have variance 1/n:
    Keras (3,3,64,1) -> std 1/24 = 0.0417 (reference §10), not torch's 0.125."""
    stds = []
    for seed in range(40):
        d = torch.empty(64, 1, 3, 3, dtype=torch.float64)
        kerasinit.orthogonal_(d, layout=layouts.Depthwise(1), generator=_gen(seed))
        stds.append(float(d.std()))
    assert float(np.mean(stds)) == pytest.approx(1 / 24, rel=0.01)
