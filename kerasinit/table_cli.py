"""``kerasinit table``: print the mapping table from the same data the code uses.

Formats: ``text`` (aligned columns), ``md`` (the table in ``docs/table.md`` and the README),
``json`` (machine-readable).
"""

from __future__ import annotations

import argparse
import json
import sys

from kerasinit.mappings.table import ALIASES, REFUSED, ROWS

__all__ = ["add_arguments", "render", "run"]

_HEADERS = ("Keras identifier", "aliases", "exact distribution (Keras fans fi, fo)",
            "naive torch call", "naive matches?")


def _aliases(name: str) -> str:
    return ", ".join(sorted(a for a, target in ALIASES.items() if target.target == name))


def _rows() -> list[tuple[str, str, str, str, str]]:
    return [(name, _aliases(name), row.formula, row.naive,
             f"{row.naive_matches}: {row.why}" if row.why != "-" else row.naive_matches)
            for name, row in ROWS.items()]


def render(fmt: str = "md") -> str:
    """The mapping table as ``"md"``, ``"text"`` or ``"json"``."""
    rows = _rows()
    if fmt == "json":
        data: list[dict[str, object]] = [
            dict(zip(("name", "aliases", "formula", "naive_torch", "naive_matches"), r, strict=True))
                for r in rows]
        for item, name in zip(data, ROWS, strict=True):
            item["aliases"] = sorted(a for a, t in ALIASES.items() if t.target == name)
            item["keras_class"] = ROWS[name].class_name
        return json.dumps({"initializers": data, "refused": REFUSED}, indent=2,
                          ensure_ascii=False)
    if fmt == "md":
        lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
        lines += ["| " + " | ".join(f"`{r[0]}`" if i == 0 else r[i].replace("|", "\\|")
                                    for i in range(len(r))) + " |" for r in rows]
        lines.append("")
        lines.append("Refused (registered by Keras, no distribution): " + "; ".join(
            f"`{k}`: {v}" for k, v in sorted(REFUSED.items())) + ".")
        return "\n".join(lines) + "\n"
    out = []
    for name, aliases, formula, naive, matches in rows:
        out.append(f"{name}" + (f"  ({aliases})" if aliases else ""))
        out.append(f"    Keras : {formula}")
        out.append(f"    torch : {naive}  ->  {matches}")
    out.append("")
    out.append("refused: " + "; ".join(f"{k} ({v})" for k, v in sorted(REFUSED.items())))
    return "\n".join(out) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "md", "json"), default="text",
                        help="output format (default: text)")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(render(args.format))
    return 0
