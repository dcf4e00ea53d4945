"""``report.md`` + ``report.html`` with one ECDF/QQ figure per case (PNG files next to them).

Each random case gets one PNG with two panels, drawn from what the result keeps (about 512
points, computed from the full samples): the **ECDF difference** kerasinit − TensorFlow with the
two-sample DKW/KS band at the case's alpha (under parity the curve stays inside the band except
with probability about alpha) and the closed-form CDF − TensorFlow for scale; and a **QQ plot**
of kerasinit's quantiles against TensorFlow's (the diagonal is parity). Matplotlib is used with
the Agg backend and imported only inside the plotting functions.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kerasinit._deps import require
from kerasinit.parity.report_html import label, readable_reference, render
from kerasinit.parity.result import ParityResult, ks_band
from kerasinit.parity.runner import MatrixResult

__all__ = ["write_report"]


def _slug(case: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", case).strip("_") or "case"


def _plot(result: ParityResult, path: Path) -> bool:
    q = result.quantiles
    if q is None or q.candidate is None:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13,
                         "legend.fontsize": 11, "xtick.labelsize": 11, "ytick.labelsize": 11}):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.0, 4.6))
        _ecdf_difference(ax1, result)
        _qq(ax2, result)
        what = textwrap.shorten(f"{readable_reference(result.reference)} vs {result.candidate}",
                                width=110, placeholder=" ...")
        fig.suptitle(f"{result.case}: {label(result)}\n{what}", fontsize=14)
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        plt.close(fig)
    return True


def _ecdf_difference(ax: Any, result: ParityResult) -> None:
    """kerasinit ECDF − TensorFlow ECDF with the two-sample DKW/KS band; the closed form's CDF
    − TensorFlow ECDF for scale. Without TF samples: the ECDFs of candidate and closed form."""
    q = result.quantiles
    assert q is not None and q.candidate is not None
    if q.grid is None or q.ecdf_diff is None:
        if q.closed_form is not None:
            ax.plot(q.closed_form, q.probs, color="0.5", lw=3, label="closed form")
        ax.plot(q.candidate, q.probs, color="tab:blue", lw=1.5, label=result.candidate[:24])
        ax.set_title("ECDF (no TensorFlow samples)")
        ax.set_xlabel("value (Keras layout)")
        ax.legend()
        return
    band = ks_band(result.n, result.n_reference, result.alpha)
    ax.axhline(0.0, color="0.3", lw=0.8)
    if math.isfinite(band):
        ax.fill_between(q.grid, -band, band, color="0.85",
                        label=f"DKW/KS band, α = {result.alpha:.2g} (±{band:.2g})")
    if q.closed_diff is not None:
        ax.plot(q.grid, q.closed_diff, color="tab:orange", lw=1.2, ls="--",
                label="closed form − TensorFlow")
    ax.plot(q.grid, q.ecdf_diff, color="tab:blue", lw=1.6, label=f"{result.candidate[:24]} − TF")
    worst = float(np.max(np.abs(q.ecdf_diff))) if q.ecdf_diff.size else 0.0
    limit = max(1.4 * band if math.isfinite(band) else 0.0, 1.15 * worst, 1e-6)
    ax.set_ylim(-limit, limit)
    ax.set_title(f"ECDF difference (max |Δ| = {worst:.2g})")
    ax.set_xlabel("value (Keras layout)")
    ax.set_ylabel("ECDF difference")
    ax.legend(loc="best")


def _qq(ax: Any, result: ParityResult) -> None:
    q = result.quantiles
    assert q is not None and q.candidate is not None
    other, name = ((q.reference, "TensorFlow") if q.reference is not None
                   else (q.closed_form, "closed form"))
    if other is None:
        ax.set_axis_off()
        return
    lo = float(min(other.min(), q.candidate.min()))
    hi = float(max(other.max(), q.candidate.max()))
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, label="y = x (parity)")
    ax.plot(other, q.candidate, ".", ms=3, color="tab:blue", label=f"{len(q.probs)} quantiles")
    ax.set_xlabel(f"{name} quantiles")
    ax.set_ylabel(f"{result.candidate[:24]} quantiles")
    gap = float(np.max(np.abs(q.candidate - other)))
    ax.set_title(f"QQ: {result.candidate[:24]} vs {name} (max |Δq| = {gap:.2g})")
    ax.legend(loc="upper left")


def _checks_md(r: ParityResult) -> list[str]:
    lines = ["| check | statistic | p-value | threshold | verdict |", "|---|---|---|---|---|"]
    for c in r.checks:
        p = "-" if c.p_value is None else f"{c.p_value:.3g}"
        t = "-" if c.threshold is None else f"{c.threshold:.3g}"
        note = f" ({c.note})" if c.note else ""
        lines.append(f"| {c.name} | {c.statistic:.4g} | {p} | {t} | {c.verdict}{note} |")
    return lines


def _header(result: MatrixResult) -> list[str]:
    r0 = result.results[0] if result.results else None
    lib = "" if r0 is None else r0.reference_library
    return [
        "# kerasinit parity report", "",
        f"{result.summary()}.", "",
        f"Reference: TensorFlow ({lib}; tf_keras for Keras 2). n = {result.n} values per side "
        f"per case (fewer only where a tiny tensor hit the draw cap; each case states its n). "
        "Holm within each case and across the matrix; the detectable error is the smallest "
        "relative std error the variance z-test finds with power 0.99 at the case's first Holm "
        "threshold.", "",
    ]


def write_report(result: MatrixResult, directory: str | Path,
                 progress: Callable[[int, int, str], None] | None = None) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``plots/*.png`` into ``directory``.

    Args:
        result: a matrix run.
        directory: created if needed.
        progress: called as ``progress(done, total, label)`` while the plots are written.

    Returns:
        The paths of the markdown and HTML files.

    Raises:
        MissingDependencyError: matplotlib is not installed (checked before anything is written).
    """
    require("kerasinit parity --report", ["matplotlib"])
    out = Path(directory)
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    md = _header(result)
    md += ["| case | status | n | case p (Holm) | detects (0.99) | checks failed |",
           "|---|---|---|---|---|---|"]
    images: dict[str, str] = {}
    total = len(result.results)
    for i, r in enumerate(result.results):
        png = plots / f"{_slug(r.case)}.png"
        if _plot(r, png):
            images[r.case] = f"plots/{png.name}"
        if progress is not None:
            progress(i + 1, total, f"plot {r.case}")
        det = "-" if r.detectable_error is None else f"{100 * r.detectable_error:.2f} %"
        failed = ", ".join(c.name for c in r.checks if not c.passed) or (r.error or "-")
        md.append(f"| {r.case} | {r.status} | {r.n} | {r.p_value:.3g} | {det} | {failed} |")
    for r in result.results:
        md += ["", f"## {r.case}: {r.status}", "",
               f"{r.reference} vs **{r.candidate}**, torch {r.shape} [{r.layout}] = Keras "
               f"{r.keras_shape}, {r.keras_version}; target {r.distribution}; n = {r.n} "
               f"(candidate), {r.n_reference} (TF); alpha = {r.alpha:.3g}; {r.power_text()}.", ""]
        if r.error:
            md.append(f"Error: {r.error}")
        md += _checks_md(r)
        if r.case in images:
            md += ["", f"![{r.case}]({images[r.case]})"]
    md_path = out / "report.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(_html(result, images), encoding="utf-8")
    return [md_path, html_path]


def _html(result: MatrixResult, images: dict[str, str]) -> str:
    return render(result, images)
