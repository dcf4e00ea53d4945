"""``report.md`` + ``report.html`` with one ECDF/QQ figure per case (PNG files next to them).

Each random case gets one PNG with two panels, drawn from the compact quantiles kept in the
result (512 probabilities): the ECDFs of the candidate, TensorFlow and the closed form, and a QQ
plot of the candidate's quantiles against TensorFlow's (the diagonal is parity). Matplotlib is
used with the Agg backend and imported only here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from kerasinit._deps import require
from kerasinit.parity.report_html import render
from kerasinit.parity.result import ParityResult
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

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    if q.closed_form is not None:
        ax1.plot(q.closed_form, q.probs, color="0.6", lw=3, label="closed form")
    if q.reference is not None:
        ax1.plot(q.reference, q.probs, color="tab:orange", lw=1.2, label="TensorFlow")
    ax1.plot(q.candidate, q.probs, color="tab:blue", lw=1.0, ls="--", label=result.candidate[:24])
    ax1.set_title("ECDF (Keras-layout values)", fontsize=11)
    ax1.legend(fontsize=9)
    if q.reference is not None:
        lo = float(min(q.reference.min(), q.candidate.min()))
        hi = float(max(q.reference.max(), q.candidate.max()))
        ax2.plot([lo, hi], [lo, hi], color="0.6", lw=1)
        ax2.plot(q.reference, q.candidate, ".", ms=2, color="tab:blue")
        ax2.set_xlabel("TensorFlow quantiles", fontsize=12)
        ax2.set_ylabel("candidate quantiles", fontsize=12)
    ax2.set_title("QQ: candidate vs TensorFlow", fontsize=11)
    fig.suptitle(f"{result.case}: {result.status}", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return True


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
