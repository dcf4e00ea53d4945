"""``report.html`` of a parity run: explanations, failures first, an initializer × layout grid.

Case headers are readable (``he_normal(seed=None)`` rather than a raw dict), refusal cases
(kerasinit and Keras both refuse the input) are labelled as refusals instead of "pass, n = 0",
notes are shown in full, and fonts are sized for reading.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Sequence

from kerasinit.parity.result import ParityResult
from kerasinit.parity.runner import MatrixResult

__all__ = ["EXPLANATIONS", "label", "readable_reference", "render"]

#: what the report's words mean (also in docs/parity.md)
EXPLANATIONS = (
    ("pass", "kerasinit's samples are indistinguishable from TensorFlow's at the case's level "
             "(every check's Holm-adjusted p-value above its threshold)."),
    ("FAIL", "at least one check rejects parity at the case's level."),
    ("mutant", "a deliberately wrong mapping (untruncated normal, torch fans on a depthwise "
               "kernel, a 2 % scale error, ...) run through the same checks to show they can fail."),
    ("detected", "a mutant that failed, as it must; MISSED would mean the checks are too weak."),
    ("refusal", "kerasinit refuses the input (e.g. Identity on a 4-D kernel); the case passes "
                "when Keras refuses it too. No samples are drawn (n = 0)."),
    ("detects (0.99)", "the smallest relative std error the variance z-test detects with "
                       "power 0.99 at the case's first Holm threshold and its n."),
    ("case p (Holm)", "the case's smallest Holm-adjusted p-value; cases are Holm-corrected "
                      "again across the whole matrix."),
)

_CSS = ("body{font-family:system-ui,sans-serif;font-size:16px;line-height:1.45;max-width:1200px;"
        "margin:auto;padding:0 1em}table{border-collapse:collapse;font-size:14px;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "h2{font-size:19px;margin-top:1.6em}dt{font-weight:bold}"
        ".pass,.detected,.refusal{color:#060}.FAIL,.MISSED,.ERROR{color:#b00;font-weight:bold}"
        "img{max-width:100%}")


def readable_reference(reference: str) -> str:
    """``'he_normal {"seed": None}'`` -> ``'he_normal(seed=None)'`` (unchanged if not a dict).

    >>> readable_reference("truncated_normal {'mean': 0.0, 'stddev': 0.05}")
    'truncated_normal(mean=0.0, stddev=0.05)'
    """
    name, _, rest = reference.partition(" ")
    try:
        config = ast.literal_eval(rest) if rest else {}
    except (ValueError, SyntaxError):
        return reference
    if not isinstance(config, dict):
        return reference
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in config.items())})"


def label(r: ParityResult) -> str:
    """The status shown: ``refusal`` (passed) / ``FAIL`` for refusal cases, else the status."""
    if r.power_note == "refusal":
        return "refusal" if r.passed else "FAIL"
    return r.status


def _grid(results: Sequence[ParityResult]) -> list[str]:
    """Initializer rows × layout columns; each cell lists the statuses of its versions."""
    cells: dict[tuple[str, str], list[str]] = {}
    for r in results:
        parts = r.case.split("/")
        if r.expect_fail or len(parts) < 2:
            continue
        cells.setdefault((parts[0], parts[1]), []).append(label(r))
    inits = sorted({i for i, _ in cells})
    layouts = sorted({lay for _, lay in cells})
    out = ["<table><tr><th>initializer \\ layout</th>"
           + "".join(f"<th>{html.escape(lay)}</th>" for lay in layouts) + "</tr>"]
    for i in inits:
        row = [f"<td>{html.escape(i)}</td>"]
        for lay in layouts:
            got = cells.get((i, lay), [])
            bad = [s for s in got if s not in ("pass", "refusal")]
            text = "–" if not got else (", ".join(bad) if bad else "✓" * len(got))
            cls = "FAIL" if bad else ("pass" if got else "")
            row.append(f"<td class='{cls}'>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</table>")
    return out


def _slug(case: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", case).strip("_") or "case"


def render(result: MatrixResult, images: dict[str, str]) -> str:
    """The whole HTML page."""
    e = html.escape
    ordered = sorted(result.results, key=lambda r: (r.ok, r.expect_fail))  # failures first
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>kerasinit parity report</title>",
        f"<style>{_CSS}</style></head><body><h1>kerasinit parity report</h1>",
        f"<p><b>{e(result.summary())}.</b></p>",
        "<h2>How to read it</h2><dl>"
        + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in EXPLANATIONS) + "</dl>",
        "<h2>Initializer × layout</h2><p>✓ per Keras version that passed (refusals included);"
        " failures are named.</p>", *_grid(result.results),
        "<h2>Cases (failures first)</h2><table><tr><th>case</th><th>status</th><th>n</th>"
        "<th>case p (Holm)</th><th>detects (0.99)</th></tr>",
    ]
    for r in ordered:
        det = "-" if r.detectable_error is None else f"{100 * r.detectable_error:.2f} %"
        n = "– (refusal)" if r.power_note == "refusal" else str(r.n)
        parts.append(f"<tr><td><a href='#{_slug(r.case)}'>{e(r.case)}</a></td>"
                     f"<td class='{label(r)}'>{label(r)}</td><td>{n}</td>"
                     f"<td>{r.p_value:.3g}</td><td>{det}</td></tr>")
    parts.append("</table>")
    for r in ordered:
        parts.append(f"<h2 id='{_slug(r.case)}'>{e(r.case)}: "
                     f"<span class='{label(r)}'>{label(r)}</span></h2>")
        what = ("kerasinit refuses this input; parity means Keras refuses it too"
                if r.power_note == "refusal" else
                f"target {e(r.distribution)}; n = {r.n} (candidate), {r.n_reference} (TF); "
                f"alpha = {r.alpha:.3g}; {e(r.power_text())}")
        parts.append(f"<p><b>{e(readable_reference(r.reference))}</b> vs {e(r.candidate)}: "
                     f"torch {r.shape} [{e(r.layout)}] = Keras {r.keras_shape}; "
                     f"{e(r.keras_version)}; {what}.</p>")
        if r.error:
            parts.append(f"<p class='ERROR'>{e(r.error)}</p>")
        parts.append("<table><tr><th>check</th><th>statistic</th><th>p-value</th>"
                     "<th>threshold</th><th>verdict</th><th>note</th></tr>")
        for c in r.checks:
            p = "-" if c.p_value is None else f"{c.p_value:.3g}"
            t = "-" if c.threshold is None else f"{c.threshold:.3g}"
            parts.append(f"<tr><td>{e(c.name)}</td><td>{c.statistic:.4g}</td><td>{p}</td>"
                         f"<td>{t}</td><td class='{c.verdict}'>{c.verdict}</td>"
                         f"<td>{e(c.note)}</td></tr>")
        parts.append("</table>")
        if r.case in images:
            parts.append(f"<p><img src='{images[r.case]}' alt='{e(r.case)}' width='960'></p>")
    parts.append("</body></html>")
    return "\n".join(parts)
