"""The parity report and result formatting on hand-made results (no TensorFlow needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kerasinit.parity.result import ParityResult, Quantiles
from kerasinit.parity.runner import MatrixResult, _holm_across
from kerasinit.parity.stats import Check


def _result(case: str, p: float, *, expect_fail: bool = False, quantiles: bool = True,
            error: str | None = None) -> ParityResult:
    rng = np.random.default_rng(0)
    q = Quantiles.of(rng.uniform(-1, 1, 4096), rng.uniform(-1, 1, 4096),
                     lambda u: -1 + 2 * u) if quantiles else None
    checks = (Check("support (candidate)", -1e-6, None, True),
              Check("variance z (candidate)", 5.2, p, True),
              Check("KS 2-sample vs TF", 0.01, 0.5, True))
    return ParityResult(case=case, reference="glorot_uniform {}", candidate="kerasinit",
                        keras_version="Keras 3.15 (latest)", reference_library="Keras on TF",
                        shape=(4, 8), layout="torch", keras_shape=(8, 4),
                        distribution="U[-1, 1)", checks=checks, n=4096, n_reference=4096,
                        alpha=1e-3, detectable_error=0.02, expect_fail=expect_fail,
                        error=error, quantiles=q).with_alpha(1e-3)


def test_result_decides_with_holm_and_prints() -> None:
    good, bad = _result("a/dense/3", 0.3), _result("b/dense/3", 1e-9)
    assert good.passed and good.status == "pass"
    assert not bad.passed and bad.status == "FAIL"
    text = str(bad)
    assert "FAIL" in text and "variance z (candidate)" in text and "n = 4096" in text
    assert "detects a 2.00 % std error with power 0.99" in text
    mutant = _result("mutant:x", 1e-9, expect_fail=True)
    assert mutant.ok and mutant.status == "detected"
    errored = _result("c", 0.3, error="candidate raised ValueError: x")
    assert not errored.passed and errored.status == "ERROR" and "error:" in str(errored)


def test_holm_across_cases() -> None:
    """Case c1 (check p = 2e-4, 2 p-values, case p = 4e-4) passes alone at alpha/N = 3.3e-4
    (Holm threshold 1.67e-4) but Holm's second step across cases (5e-4) rejects it once the
    1e-9 case is rejected; the 0.3 case stays accepted."""
    rs = [_result(f"c{i}", p).with_alpha(1e-3 / 3) for i, p in enumerate((1e-9, 2e-4, 0.3))]
    assert rs[1].passed and rs[1].p_value == 4e-4
    out = _holm_across(rs, 1e-3)
    assert [r.passed for r in out] == [False, False, True]


def test_report_contains_cases_verdicts_and_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from kerasinit.parity.report import write_report

    results = [_result("glorot_uniform/dense/3", 0.4), _result("he/dense/2", 1e-12),
               _result("mutant:scale", 1e-12, expect_fail=True),
               _result("zeros/bias/3", 0.5, quantiles=False)]
    md_path, html_path = write_report(MatrixResult(results, 1e-3, 4096, 1.0), tmp_path)
    md, page = md_path.read_text(), html_path.read_text()
    for r in results:
        assert f"| {r.case} | {r.status} |" in md and r.case in page
    assert "| he/dense/2 | FAIL |" in md and "| mutant:scale | detected |" in md
    assert "class='FAIL'" in page and "class='detected'" in page
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert len(pngs) == 3  # no plot for the deterministic case
    for png in pngs:
        assert f"plots/{png.name}" in page and f"(plots/{png.name})" in md
        assert png.read_bytes()[:4] == b"\x89PNG"
