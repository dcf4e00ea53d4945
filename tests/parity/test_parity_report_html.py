"""report.html: explanations, failures first, the grid, readable headers, refusal labels."""

from __future__ import annotations

import dataclasses

from kerasinit.parity.report_html import label, readable_reference, render
from kerasinit.parity.runner import MatrixResult
from tests.parity.test_parity_report import _result


def test_html_explains_orders_failures_first_and_labels_refusals() -> None:
    good = _result("glorot_uniform/dense/3", 0.4)
    bad = _result("he_normal/conv2d/3", 1e-12)
    refusal = dataclasses.replace(_result("identity/conv2d/3", 0.5, quantiles=False),
                                  power_note="refusal", n=0, n_reference=0)
    mutant = _result("mutant:scale", 1e-12, expect_fail=True)
    page = render(MatrixResult([good, refusal, mutant, bad], 1e-3, 4096, 1.0), {})
    for word in ("How to read it", "mutant", "detected", "detects (0.99)", "refusal"):
        assert word in page
    table = page.split("Cases (failures first)")[1]
    assert table.index("he_normal/conv2d/3") < table.index("glorot_uniform/dense/3")
    assert label(refusal) == "refusal" and "– (refusal)" in table
    grid = page.split("Initializer × layout")[1].split("Cases (failures first)")[0]
    assert "<th>conv2d</th>" in grid and "<th>dense</th>" in grid and "FAIL" in grid
    assert "glorot_uniform {}" not in page and "glorot_uniform()" in page


def test_readable_reference() -> None:
    assert readable_reference("he_normal {'seed': 3}") == "he_normal(seed=3)"
    assert readable_reference("odd text") == "odd text"
