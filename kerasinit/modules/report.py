""":class:`InitReport`: what :func:`~kerasinit.modules.apply.initialize` and
:func:`~kerasinit.modules.apply.keras_defaults_` did to each parameter, and what they skipped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kerasinit._text import text_table
from kerasinit.modules.params import ParamSpec, layout_label

if TYPE_CHECKING:
    from kerasinit.bridge.initializer import Initializer
    from kerasinit.bridge.layouts import Layout
    from kerasinit.mappings.resolve import Resolved

__all__ = ["InitReport", "ReportRow", "SkippedParam", "make_row"]


@dataclass(frozen=True)
class ReportRow:
    """One initialized tensor.

    Attributes:
        name: qualified name in the model (``"encoder.0.weight_hh_l0_reverse"``).
        keras_layer: the Keras layer whose weight it plays (``"LSTM"``).
        role: the Keras weight role (``"recurrent_kernel"``).
        initializer: the Keras initializer name (``"orthogonal"``; ``"glorot_uniform"``).
        layout: the layout used (``"torch"``, ``"Depthwise(4)"``, ``"mha_in_proj(8)"``).
        keras_shape: the Keras weight shape the fans were computed on (one block's, if packed).
        fan_in, fan_out: the Keras fans used.
        distribution: the exact distribution sampled (formula).
        note: anything special (packed blocks, the LSTM forget bias, the torch bias split).
    """

    name: str
    keras_layer: str
    role: str
    initializer: str
    layout: str
    keras_shape: tuple[int, ...]
    fan_in: float
    fan_out: float
    distribution: str
    note: str = ""


@dataclass(frozen=True)
class SkippedParam:
    """A parameter that was left untouched because kerasinit has no Keras view of it."""

    name: str
    module: str
    reason: str


@dataclass(frozen=True)
class InitReport:
    """The result of :func:`initialize` / :func:`keras_defaults_`: one row per tensor written.

    Attributes:
        rows: the initialized tensors, in module order.
        skipped: parameters of modules (or of weights) with no Keras counterpart, left as they
            were. Never silently dropped: check ``report.skipped``.
        keras_version: label of the Keras version whose semantics applied.

    ``report["fc.weight"]`` gives a row by name; ``str(report)`` is a readable table.
    """

    rows: tuple[ReportRow, ...]
    skipped: tuple[SkippedParam, ...]
    keras_version: str

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ReportRow]:
        return iter(self.rows)

    def __getitem__(self, name: str) -> ReportRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"{name!r} was not initialized. Initialized: "
                       f"{', '.join(repr(r.name) for r in self.rows) or 'none'}.")

    @property
    def names(self) -> tuple[str, ...]:
        """Qualified names of the initialized tensors."""
        return tuple(r.name for r in self.rows)

    def __str__(self) -> str:
        header = ("parameter", "Keras layer", "role", "initializer", "layout", "Keras shape",
                  "fan_in", "fan_out", "distribution")
        rows = [(r.name, r.keras_layer, r.role, r.initializer, r.layout, str(r.keras_shape),
                 f"{r.fan_in:g}", f"{r.fan_out:g}",
                 r.distribution + (f"  [{r.note}]" if r.note else "")) for r in self.rows]
        lines = [f"kerasinit: {len(self.rows)} tensors initialized as {self.keras_version}"]
        lines += text_table(header, rows) if rows else []
        if self.skipped:
            lines.append(f"skipped ({len(self.skipped)} parameters left unchanged):")
            lines += ["  " + line for line in text_table(
                ("parameter", "module", "reason"),
                [(s.name, s.module, s.reason) for s in self.skipped])]
        return "\n".join(lines)


def make_row(name: str, spec: ParamSpec, init: Initializer, layout: Layout,
         resolved: Resolved | tuple[Resolved, ...], note: str = "") -> ReportRow:
    """A report row for a tensor of ``spec`` resolved to ``resolved``."""
    first = resolved[0] if isinstance(resolved, tuple) else resolved
    if isinstance(resolved, tuple):
        packed = f"{len(resolved)} Keras weights, each with its own fans"
        note = f"{packed}; {note}" if note else packed
    return ReportRow(name, spec.keras_layer, spec.role, init.name, layout_label(layout),
                     first.keras_shape, first.fan_in, first.fan_out,
                     first.distribution.formula(), note)
