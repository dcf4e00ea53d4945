"""Parity against TensorFlow: the quick matrix, the mutants, compare() on user candidates.

Reference samples come from Keras 3.15 on the TensorFlow backend and from tf_keras 2.21.
Fixed seeds (seed 0) make every run deterministic. The quick matrix runs n = 2^17 values per
side and case (fewer for the rank-0 case, capped at 2048 draws; each result states its n) at
family-wise alpha = 1e-3 with Holm within and across cases: about 1e-3 / (34·10) = 3e-6 per
check, where the variance z-test detects a 1.6 % (normal) / 1.0 % (uniform) std error with
power 0.99 (each case reports its own figure; the test asserts < 2 % on the large cases). Every
planted wrong mapping must be detected: untruncated he_normal, absolute ``trunc_normal_``
bounds, torch fans on a depthwise kernel, fan_in/fan_out swapped, a 2 % scale error, a missing
0.8796 factor, per-gate orthogonal on an LSTM recurrent kernel.
"""

from __future__ import annotations

import pytest
import torch

tf = pytest.importorskip("tensorflow")

from kerasinit import parity  # noqa: E402
from kerasinit.parity import cases  # noqa: E402
from kerasinit.parity.runner import MatrixResult, run_matrix  # noqa: E402

pytestmark = pytest.mark.tf
MUTANTS = {"untruncated_he_normal", "absolute_trunc_normal", "torch_fans_depthwise",
           "fans_swapped", "scale_2_percent", "missing_0.8796", "per_gate_orthogonal_lstm"}


@pytest.fixture(scope="module")
def quick_run() -> MatrixResult:
    return run_matrix(cases.quick() + cases.mutants(), n=parity.DEFAULT_SAMPLES, alpha=1e-3,
                      seed=0)


def test_quick_matrix_passes(quick_run: MatrixResult) -> None:
    """Every quick case passes (kerasinit's mappings on TF's samples) with the stated power."""
    bad = [str(r) for r in quick_run.cases if not r.passed]
    assert not bad, "\n\n".join(bad)
    assert len(quick_run.cases) >= 25
    assert {r.keras_version.split()[0] + r.keras_version.split()[1][:4]
            for r in quick_run.cases} >= {"Keras3.15", "Keras3.14", "tf_keras2.21"}
    for r in quick_run.cases:
        if r.detectable_error is not None and r.n >= 100_000:
            assert r.detectable_error < 0.02, r.case


def test_every_mutant_is_detected(quick_run: MatrixResult) -> None:
    got = {r.case.removeprefix("mutant:"): r for r in quick_run.mutants}
    assert set(got) == MUTANTS
    missed = [str(r) for r in got.values() if r.passed]
    assert not missed, "\n\n".join(missed)
    failing = {k: {c.name for c in r.checks if not c.passed} for k, r in got.items()}
    assert "support (candidate)" in failing["untruncated_he_normal"]
    assert "variance z (candidate)" in failing["scale_2_percent"]
    assert "variance z (candidate)" in failing["missing_0.8796"]
    assert "variance z (candidate)" in failing["fans_swapped"]
    assert "orthogonality on Keras axis (candidate)" in failing["per_gate_orthogonal_lstm"]
    assert quick_run.passed


def test_kaiming_normal_fails_he_normal() -> None:
    """torch's kaiming_normal_ is untruncated: rejected at n = 2^17 by support, KS and AD."""
    r = parity.compare("he_normal", lambda t: torch.nn.init.kaiming_normal_(t), shape=(256, 784))
    assert not r.passed and r.error is None
    failing = {c.name for c in r.checks if not c.passed}
    assert {"support (candidate)", "KS vs closed form (candidate)"} <= failing
    assert r.n == 256 * 784 and r.alpha == 1e-3
    assert "FAIL" in str(r) and "n = 200704" in str(r)


def test_kerasinit_passes_on_a_module() -> None:
    r = parity.compare("he_normal", module=torch.nn.Conv2d(64, 128, 3), param="weight",
                       samples=1 << 16)
    assert r.passed, str(r)
    assert r.keras_shape == (3, 3, 64, 128)
    r = parity.compare("he_uniform", module=torch.nn.Conv2d(32, 64, 3, groups=32),
                       param="weight", samples=1 << 16, keras_version="2")
    assert r.passed and r.layout == "depthwise" and r.keras_shape == (3, 3, 32, 2), str(r)


def test_raising_and_wrong_shape_candidates_are_reported() -> None:
    def boom(t: torch.Tensor) -> None:
        raise RuntimeError("no luck")

    r = parity.compare("glorot_uniform", boom, shape=(64, 32), samples=1024)
    assert not r.passed and "RuntimeError: no luck" in (r.error or "")
    assert "ERROR" in str(r)
    r = parity.compare("glorot_uniform", lambda t: torch.zeros(3), shape=(64, 32), samples=1024)
    assert not r.passed and "shape" in (r.error or "")


def test_invalid_reference_raises() -> None:
    import kerasinit

    with pytest.raises(kerasinit.UnknownInitializerError, match="glorot_uniform"):
        parity.compare("xavier_uniform", shape=(4, 4))
    with pytest.raises(ValueError, match="shape"):
        parity.compare("he_normal")


def test_refusal_parity() -> None:
    """Identity on a rank-3 kernel: kerasinit refuses and so does Keras (a pass)."""
    r = parity.compare("identity", shape=(8, 4, 3))
    assert r.passed and r.checks[0].name == "refusal parity"


def test_report_renders(quick_run: MatrixResult, tmp_path: object) -> None:
    from pathlib import Path

    from kerasinit.parity.report import write_report

    md_path, html_path = write_report(quick_run, Path(str(tmp_path)))
    md, page = md_path.read_text(), html_path.read_text()
    for r in quick_run.results:
        assert f"| {r.case} | {r.status} |" in md
        assert r.case in page
    assert md.count("| detected |") == len(MUTANTS)
    pngs = sorted((Path(str(tmp_path)) / "plots").glob("*.png"))
    assert len(pngs) >= 20
    for png in pngs:
        assert f"plots/{png.name}" in page and png.stat().st_size > 1000


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from kerasinit.cli import main

    assert main(["parity", "--only", "he_uniform/depthwise2d_m1/2", "--samples", "20000"]) == 0
    out = capsys.readouterr().out
    assert "he_uniform/depthwise2d_m1/2" in out and "1/1 cases pass" in out
    assert main(["parity", "--only", "nothing-matches"]) == 2


@pytest.mark.slow
def test_full_matrix_and_mutants() -> None:
    """The whole matrix (644 cases + 7 mutants, n = 2^17; ~2 min on 2 cores) passes and every mutant is detected."""
    result = run_matrix(cases.matrix() + cases.mutants(), n=parity.DEFAULT_SAMPLES, alpha=1e-3)
    bad = [str(r) for r in result.results if not r.ok]
    assert not bad, "\n\n".join(bad[:10])


def test_calibration_runs_tf_against_tf() -> None:
    """Calibration path: 2 seeds × 2 random cases (H0 true); p-values are recorded per check."""
    from kerasinit.parity.runner import calibrate

    picked = cases.select(cases.quick(), "he_uniform/depthwise2d_m1/2") + cases.select(
        cases.quick(), "orthogonal/gru_recurrent/2")
    cal = calibrate(picked, n=1 << 14, seeds=2)
    assert cal.case_runs == 4 and cal.seeds == 2
    assert "variance z (candidate)" in cal.check_rates
    assert "KS 2-sample vs TF" in cal.check_rates and "calibration:" in cal.summary()
