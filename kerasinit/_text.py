"""Plain-text tables for reports (``InitReport``, porting plans, parity results): one helper."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["text_table"]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, rule: bool = True,
               indent: str = "") -> list[str]:
    """Left-aligned columns two spaces apart; the last column is free-width (long text).

    Example:
        >>> print("\\n".join(text_table(("name", "value"), [("a", "1"), ("long name", "2")])))
        name       value
        ---------  -----
        a          1
        long name  2
    """
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)]
        return (indent + "  ".join([*padded, cells[-1]])).rstrip()

    lines = [line(header)]
    if rule:
        lines.append(line(["-" * w for w in widths] + ["-" * len(header[-1])]))
    return lines + [line(r) for r in rows]
