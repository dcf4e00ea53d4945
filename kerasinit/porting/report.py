"""The :class:`ApplyReport` of ``plan.apply`` and the :class:`PlanMismatchError` it raises.

Every torch parameter (and every buffer a Keras weight explains) ends in exactly one state:

- ``"applied"``: initialized from a Keras weight's initializer;
- ``"implicit"``: initialized from a value Keras fixes without a weight
  (``BatchNormalization(scale=False)`` -> gamma 1, ``center=False`` -> beta 0);
- ``"planned"``: would be written, but the tensor is on the meta device (nothing to write);
- ``"mismatch"``: its Keras counterpart does not fit (only with ``strict=False``);
- ``"untouched"``: no Keras weight explains it; ``note`` says why.

Keras weights with no torch tensor (a conv bias before a torch ``bias=False`` conv) are listed
in :attr:`ApplyReport.dropped`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kerasinit._text import text_table
from kerasinit.mappings.errors import KerasInitError

__all__ = ["ApplyEntry", "ApplyReport", "Dropped", "PlanMismatchError", "mismatch_message"]

WIDTH = 100


class PlanMismatchError(KerasInitError):
    """The torch model does not fit the plan; nothing was written.

    ``.problems`` lists every problem (the message shows the first few), ``.report`` the
    report as it would have been.
    """

    def __init__(self, message: str, report: ApplyReport) -> None:
        super().__init__(message)
        self.report = report
        self.problems = report.problems


@dataclass(frozen=True)
class ApplyEntry:
    """What happened to one torch parameter (or buffer)."""

    torch_name: str
    keras_layer: str
    keras_weight: str
    initializer: str
    distribution: str
    status: str  # "applied", "implicit", "planned", "mismatch", "untouched"
    note: str = ""


@dataclass(frozen=True)
class Dropped:
    """A Keras weight with no torch tensor (not an error)."""

    keras_layer: str
    keras_weight: str
    initializer: str
    reason: str


@dataclass(frozen=True)
class ApplyReport:
    """The result of :meth:`Plan.apply <kerasinit.porting.plan.Plan.apply>`.

    Attributes:
        entries: one per torch parameter of the model (and per buffer a Keras weight explains).
        pairs: (Keras layer paths, torch module path) pairs that were checked.
        problems: every mismatch, naming both sides (first divergence first).
        unmatched_keras: weight-bearing Keras layers no torch module took.
        keras_version: label of the semantics applied.
        dropped: Keras weights with no torch tensor.
        how: for each pair, how it was decided (``"mapping"``, ``"name"``, ``"graph"``,
            ``"order"``, ``"leftover"``).
        notes: pairing notes (ties paired in order, how the torch data flow was found) and
            hyperparameters set or left (``hyperparameters=True``).
    """

    entries: tuple[ApplyEntry, ...]
    pairs: tuple[tuple[tuple[str, ...], str], ...]
    problems: tuple[str, ...]
    unmatched_keras: tuple[str, ...]
    keras_version: str
    dropped: tuple[Dropped, ...] = ()
    how: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every pair matched and every Keras layer found a torch module."""
        return not self.problems

    def _with(self, *status: str) -> tuple[ApplyEntry, ...]:
        return tuple(e for e in self.entries if e.status in status)

    @property
    def applied(self) -> tuple[ApplyEntry, ...]:
        """Entries that were written (from a Keras weight or a Keras implicit value)."""
        return self._with("applied", "implicit")

    @property
    def implicit(self) -> tuple[ApplyEntry, ...]:
        """Entries written with a value Keras fixes without a weight."""
        return self._with("implicit")

    @property
    def planned(self) -> tuple[ApplyEntry, ...]:
        """Entries that would be written but live on the meta device."""
        return self._with("planned")

    @property
    def untouched(self) -> tuple[ApplyEntry, ...]:
        """Entries left as they were, each with its reason in ``note``."""
        return self._with("untouched", "mismatch")

    def __getitem__(self, torch_name: str) -> ApplyEntry:
        for e in self.entries:
            if e.torch_name == torch_name:
                return e
        raise KeyError(f"No torch parameter {torch_name!r} in the report.")

    def headline(self) -> str:
        """One line: what was written, planned, left and dropped."""
        written = self._with("applied")
        head = (f"kerasinit porting: {len(self.applied)} of {len(self.entries)} torch tensors "
                f"initialized as {self.keras_version} ({len(written)} from Keras weights, "
                f"{len(self.implicit)} Keras implicit values)")
        if self.planned:
            head += f"; {len(self.planned)} planned, not written (meta device)"
        return (head + f"; {len(self.untouched)} untouched; {len(self.dropped)} Keras weights "
                f"dropped; {len(self.problems)} problems")

    def __str__(self) -> str:
        cols = ("torch parameter", "Keras weight", "status", "initializer / reason")
        rows = []
        for e in self.entries:
            last = f"{e.initializer}: {e.distribution}" if e.initializer else ""
            if e.note:
                last = f"{last}  [{e.note}]" if last else e.note
            rows.append((e.torch_name, f"{e.keras_layer}/{e.keras_weight}" if e.keras_layer
                         else "-", e.status, last))
        lines = [*textwrap.wrap(self.headline(), WIDTH, subsequent_indent="  "), "",
                 *wrap_table(cols, rows)]
        if self.dropped:
            lines += ["", "Dropped Keras weights (no torch tensor):"]
            lines += [f"  - {d.keras_layer}/{d.keras_weight} ({d.initializer}): {d.reason}"
                      for d in self.dropped]
        for title, items in (("Notes", self.notes), ("Problems", self.problems)):
            if items:
                lines += ["", f"{title}:"]
                for item in items:
                    lines += textwrap.wrap(item, WIDTH, initial_indent="  - ",
                                           subsequent_indent="    ")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"keras_version": self.keras_version, "headline": self.headline(),
                "problems": list(self.problems), "unmatched_keras": list(self.unmatched_keras),
                "pairs": [{"keras": list(k), "torch": t, "how": h} for (k, t), h in
                          zip(self.pairs, self.how or ("",) * len(self.pairs), strict=False)],
                "entries": [e.__dict__ for e in self.entries],
                "dropped": [d.__dict__ for d in self.dropped], "notes": list(self.notes)}


def wrap_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]],
               width: int = WIDTH, cap: int = 44) -> list[str]:
    """:func:`~kerasinit._text.text_table` with lines of at most ``width`` characters.

    Cells wider than ``cap`` continue on the next lines; a last cell that does not fit in what
    is left of the line goes below its row, indented, at full width.

    Example:
        >>> print("\\n".join(wrap_table(("a", "b"), [("x", "one two three four five six"),
        ...                                         ("y", "short")], width=20)))
        a  b
        -  -
        x
            one two three
            four five six
        y  short
    """
    widths = [min(cap, max(len(r[i]) for r in (header, *rows))) for i in range(len(header) - 1)]
    while sum(widths) + 2 * len(widths) > width - max(10, len(header[-1])) and max(widths) > 12:
        widths[widths.index(max(widths))] -= 1  # narrow the widest column until a line fits
    room = width - sum(widths) - 2 * len(widths)
    out: list[tuple[str, ...]] = []
    below: list[list[str]] = []
    for r in rows:
        cells = [_cell(c, w) for c, w in zip(r[:-1], widths, strict=True)]
        last = r[-1]
        fits = len(last) <= room
        cells.append([last] if fits else [""])
        depth = max(len(c) for c in cells)
        out += [tuple(c[i] if i < len(c) else "" for c in cells) for i in range(depth)]
        below += [[] for _ in range(depth - 1)]
        below.append([] if fits else textwrap.wrap(last, width - 4, break_on_hyphens=False))
    table = text_table(header, out)
    lines = table[:2]
    for line, extra in zip(table[2:], below, strict=True):
        lines.append(line)
        lines += ["    " + e for e in extra]
    return lines


def _cell(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken after ``.``, ``/``, ``_`` or a space
    (continuation lines indented by two)."""
    lines: list[str] = []
    while len(text) > width:
        room = width - (2 if lines else 0)
        cut = max(text.rfind(sep, 0, room) for sep in "./_ ") + 1
        cut = cut if cut > room // 3 else room
        lines.append(("  " if lines else "") + text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*lines, ("  " if lines else "") + text]


def mismatch_message(problems: tuple[str, ...], shown: int = 3, first: str = "") -> str:
    """The :class:`PlanMismatchError` text: a count, the first divergence (``first``: where),
    a few more.

    Example:
        >>> print(mismatch_message(("a vs b", "c")))
        The torch model does not match the Keras plan; nothing was written. 2 problems; the first:
          - a vs b
          - c
        (all of them: error.problems; pass mapping={keras_layer: torch_module} to pair layers
        explicitly, or strict=False to apply what matches)
    """
    more = len(problems) - shown
    where = f" (first divergence: {first})" if first else ""
    lines = [f"The torch model does not match the Keras plan; nothing was written. "
             f"{len(problems)} problem{'s' if len(problems) != 1 else ''}{where}; the first:"]
    lines += [f"  - {p}" for p in problems[:shown]]  # one line each: easy to grep
    if more > 0:
        lines.append(f"  ... and {more} more")
    lines += ["(all of them: error.problems; pass mapping={keras_layer: torch_module} to pair "
              "layers", "explicitly, or strict=False to apply what matches)"]
    return "\n".join(lines)
