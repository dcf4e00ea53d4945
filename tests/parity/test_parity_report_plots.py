"""The report's difference plots on a tiny synthetic matrix (no TensorFlow; matplotlib lazy).

ECDF differences are exact on the full samples; the band is the two-sample DKW/KS half-width
``sqrt(ln(2/alpha)/2 * (1/n + 1/m))``. With n = m = 4096 (band 0.043 at alpha = 1e-3), a 15 %
scale error on U(-1, 1) (largest ECDF gap 0.065) must leave it; a same-distribution pair must
stay inside.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerasinit.parity.result import Quantiles, ks_band
from kerasinit.parity.runner import MatrixResult
from tests.parity.test_parity_report import _result


def test_ecdf_difference_is_exact_on_the_samples() -> None:
    cand = np.array([0.0, 1.0, 2.0, 3.0])
    ref = np.array([0.5, 1.5, 2.5, 3.5])
    q = Quantiles.of(cand, ref, points=8)
    assert q.grid is not None and q.ecdf_diff is not None
    for x, d in zip(q.grid, q.ecdf_diff, strict=True):
        assert d == pytest.approx(np.mean(cand <= x) - np.mean(ref <= x))
    assert float(q.ecdf_diff.max()) == pytest.approx(0.25)


def test_band_separates_a_scale_error_from_parity() -> None:
    rng = np.random.default_rng(1)
    n = 4096
    band = ks_band(n, n, 1e-3)
    assert band == pytest.approx(np.sqrt(np.log(2e3) / 2 * 2 / n))
    same = Quantiles.of(rng.uniform(-1, 1, n), rng.uniform(-1, 1, n))
    wrong = Quantiles.of(1.15 * rng.uniform(-1, 1, n), rng.uniform(-1, 1, n))
    assert same.ecdf_diff is not None and wrong.ecdf_diff is not None
    assert np.abs(same.ecdf_diff).max() < band < np.abs(wrong.ecdf_diff).max()
    closed = Quantiles.of(rng.uniform(-1, 1, n), rng.uniform(-1, 1, n),
                          cdf=lambda x: np.clip((x + 1) / 2, 0, 1))
    assert closed.closed_diff is not None and np.abs(closed.closed_diff).max() < band


def test_report_plots_show_the_difference_and_band(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasinit.parity import report

    rng = np.random.default_rng(2)
    good = dataclasses.replace(_result("glorot_uniform/dense/3", 0.4), quantiles=Quantiles.of(
        rng.uniform(-1, 1, 4096), rng.uniform(-1, 1, 4096), lambda u: -1 + 2 * u,
        cdf=lambda x: np.clip((x + 1) / 2, 0, 1)))
    fig, (ax1, ax2) = plt.subplots(1, 2)
    report._ecdf_difference(ax1, good)
    report._qq(ax2, good)
    q = good.quantiles
    assert q is not None and q.ecdf_diff is not None
    lines = {line.get_label(): line for line in ax1.get_lines()}
    assert np.array_equal(lines["kerasinit − TF"].get_ydata(), q.ecdf_diff)
    assert "closed form − TensorFlow" in lines
    band = ks_band(good.n, good.n_reference, good.alpha)
    assert ax1.get_ylim()[1] >= band and "DKW/KS band" in " ".join(
        t.get_text() for t in ax1.get_legend().get_texts())
    assert ax2.get_xlabel() == "TensorFlow quantiles"
    plt.close(fig)
    # a result without TF samples falls back to ECDFs; one without quantiles has no plot
    no_ref = dataclasses.replace(good, case="random_uniform/bias/3", quantiles=Quantiles.of(
        np.linspace(-1, 1, 64), None, lambda u: -1 + 2 * u))
    results = [good, no_ref, _result("zeros/bias/3", 0.5, quantiles=False)]
    report.write_report(MatrixResult(results, 1e-3, 4096, 1.0), tmp_path)
    assert len(list((tmp_path / "plots").glob("*.png"))) == 2


def test_matplotlib_is_imported_only_when_plotting() -> None:
    code = ("import sys, kerasinit.parity.report, kerasinit.parity.cli; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
