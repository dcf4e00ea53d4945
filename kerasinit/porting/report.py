"""The :class:`ApplyReport` of ``plan.apply`` and the :class:`PlanMismatchError` it raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kerasinit._text import text_table
from kerasinit.mappings.errors import KerasInitError

if TYPE_CHECKING:
    from kerasinit.porting.matching import Pair, Unit
    from kerasinit.porting.rows import PlanRow, PlanView

__all__ = ["ApplyEntry", "ApplyReport", "PlanMismatchError", "build_report"]


class PlanMismatchError(KerasInitError):
    """The torch model does not fit the plan; nothing was written. ``.report`` has details."""

    def __init__(self, message: str, report: ApplyReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ApplyEntry:
    """What happened to one torch parameter (or buffer)."""

    torch_name: str
    keras_layer: str
    keras_weight: str
    initializer: str
    distribution: str
    status: str  # "applied", "mismatch", "unmatched"
    note: str = ""


@dataclass(frozen=True)
class ApplyReport:
    """The result of :meth:`Plan.apply <kerasinit.porting.plan.Plan.apply>`.

    Attributes:
        entries: one per torch parameter of every matched or unmatched module.
        pairs: (Keras layer paths, torch module path) pairs that were checked.
        problems: every mismatch, naming both sides.
        unmatched_keras: weight-bearing Keras layers no torch module took.
        keras_version: label of the semantics applied.
    """

    entries: tuple[ApplyEntry, ...]
    pairs: tuple[tuple[tuple[str, ...], str], ...]
    problems: tuple[str, ...]
    unmatched_keras: tuple[str, ...]
    keras_version: str

    @property
    def ok(self) -> bool:
        """True when every pair matched and every Keras layer found a torch module."""
        return not self.problems

    @property
    def applied(self) -> tuple[ApplyEntry, ...]:
        """Entries that were written."""
        return tuple(e for e in self.entries if e.status == "applied")

    def __getitem__(self, torch_name: str) -> ApplyEntry:
        for e in self.entries:
            if e.torch_name == torch_name:
                return e
        raise KeyError(f"No torch parameter {torch_name!r} in the report.")

    def __str__(self) -> str:
        head = (f"kerasinit porting: {len(self.applied)} of {len(self.entries)} torch tensors "
                f"initialized as {self.keras_version}; {len(self.problems)} problems")
        cols = ("torch parameter", "Keras weight", "status", "initializer", "distribution")
        table = [cols] + [(e.torch_name, f"{e.keras_layer}/{e.keras_weight}" if e.keras_layer
                           else "-", e.status, e.initializer, e.distribution
                           + (f"  [{e.note}]" if e.note else "")) for e in self.entries]
        lines = [head, "", *text_table(table[0], table[1:])]
        if self.problems:
            lines += ["", "Problems:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"keras_version": self.keras_version, "problems": list(self.problems),
                "unmatched_keras": list(self.unmatched_keras),
                "pairs": [{"keras": list(k), "torch": t} for k, t in self.pairs],
                "entries": [e.__dict__ for e in self.entries]}


def build_report(plan: PlanView, works: list[tuple[Pair, dict[str, PlanRow], bool]],
                 unmatched_units: list[Unit], problems: list[str],
            unmatched_keras: list[str], done: dict[str, tuple[str, str, str]],
            applied: bool) -> ApplyReport:
    entries: list[ApplyEntry] = []
    for pair, rows, failed in works:
        status_default = "mismatch" if failed or not applied else "applied"
        for p in pair.unit.params:
            name = pair.unit.qual(p.name)
            row = rows.get(name)
            init, dist, note = done.get(name, ("", "", ""))
            status = "applied" if name in done else (
                "mismatch" if status_default == "mismatch" else "not written")
            entries.append(ApplyEntry(
                name, row.layer if row else "", row.weight if row else "",
                init or (row.initializer.name if row else ""),
                dist or (row.resolved_text if row else ""), status, note))
    for u in unmatched_units:
        for p in u.params:
            entries.append(ApplyEntry(u.qual(p.name), "", "", "", "", "unmatched",
                                      f"no Keras layer for this {u.kind}"))
    pairs = tuple((tuple(k.path for k in pair.keras), pair.unit.path) for pair, _, _ in works)
    return ApplyReport(tuple(entries), pairs, tuple(problems), tuple(unmatched_keras),
                       plan.keras_version.label())

