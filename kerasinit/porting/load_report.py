"""The :class:`LoadReport` of ``plan.load_weights`` and the error it raises."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kerasinit._text import text_table
from kerasinit.porting.report import PlanMismatchError

__all__ = ["KerasEntry", "LoadReport", "TorchEntry", "WeightsMismatchError"]


@dataclass(frozen=True)
class TorchEntry:
    """One torch tensor (parameter or buffer).

    Attributes:
        torch_name: the qualified name (``"features.0.0.weight"``).
        status: ``"loaded"`` or ``"untouched"``.
        keras: the Keras weight(s) it came from (``"conv/kernel"``; three for ``in_proj_weight``).
        note: how (``"transposed"``, ``"gates z,r,h -> r,z,n"``, ``"float32 -> float64"``) or,
            when untouched, why.
    """

    torch_name: str
    status: str
    keras: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class KerasEntry:
    """One stored Keras weight.

    Attributes:
        keras_name: ``"layer/weight"``.
        shape: the stored shape.
        status: ``"used"``, ``"folded"`` (a conv bias folded into the next BatchNorm's running
            mean) or ``"dropped"`` (no torch tensor; allowed when all zeros or with
            ``allow_dropped=True``).
        torch_name: the torch tensor it went to (or was folded into).
        note: remarks.
    """

    keras_name: str
    shape: tuple[int, ...]
    status: str
    torch_name: str = ""
    note: str = ""


@dataclass(frozen=True)
class LoadReport:
    """The result of :meth:`Plan.load_weights <kerasinit.porting.plan.Plan.load_weights>`.

    Attributes:
        torch: every torch tensor of the model, loaded or untouched (with the reason).
        keras: every stored Keras weight: used, folded or dropped.
        pairs: (Keras layer paths, torch module path) pairs.
        problems: what prevented loading (empty when loaded).
        source: where the weights came from.
        written: True when the values were written.
    """

    torch: tuple[TorchEntry, ...]
    keras: tuple[KerasEntry, ...]
    pairs: tuple[tuple[tuple[str, ...], str], ...]
    problems: tuple[str, ...]
    source: str
    written: bool

    @property
    def ok(self) -> bool:
        """True when everything was loaded without problems."""
        return self.written and not self.problems

    @property
    def loaded(self) -> tuple[TorchEntry, ...]:
        """The torch tensors that were written."""
        return tuple(e for e in self.torch if e.status == "loaded")

    def __getitem__(self, torch_name: str) -> TorchEntry:
        for e in self.torch:
            if e.torch_name == torch_name:
                return e
        raise KeyError(f"No torch tensor {torch_name!r} in the report.")

    def __str__(self) -> str:
        n_used = sum(e.status == "used" for e in self.keras)
        n_fold = sum(e.status == "folded" for e in self.keras)
        n_drop = sum(e.status == "dropped" for e in self.keras)
        head = (f"kerasinit load_weights from {self.source}: {len(self.loaded)} of "
                f"{len(self.torch)} torch tensors loaded; Keras weights: {n_used} used, "
                f"{n_fold} folded, {n_drop} dropped; {len(self.problems)} problems")
        if not self.written:
            head += " (nothing written)"
        rows = [(e.torch_name, e.status, ", ".join(e.keras) or "-", e.note) for e in self.torch]
        lines = [head, "", *text_table(("torch tensor", "status", "Keras weight", "note"), rows)]
        other = [e for e in self.keras if e.status != "used"]
        if other:
            lines += ["", *text_table(("Keras weight", "status", "torch tensor", "note"),
                                      [(e.keras_name, e.status, e.torch_name or "-", e.note)
                                       for e in other])]
        if self.problems:
            lines += ["", "Problems:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"source": self.source, "written": self.written, "problems": list(self.problems),
                "pairs": [{"keras": list(k), "torch": t} for k, t in self.pairs],
                "torch": [asdict(e) for e in self.torch],
                "keras": [asdict(e) for e in self.keras]}


class WeightsMismatchError(PlanMismatchError):
    """The weights do not fit the plan or the torch model; nothing was written.

    ``.report`` is the :class:`LoadReport` (``written=False``) listing every problem.
    """

    def __init__(self, message: str, report: LoadReport) -> None:
        Exception.__init__(self, message)
        self.report = report  # type: ignore[assignment]
