"""``plan.apply(torch_model)``: pair Keras layers with torch modules, check, then initialize.

Torch modules are the ones :func:`kerasinit.bridge.modules.module_params` knows, plus plain
containers with ``.depthwise`` / ``.pointwise`` conv children (a Keras ``SeparableConv``).
Pairing is positional (weight-bearing Keras layers in file order against torch modules in
``named_modules()`` order; a torch RNN with ``num_layers`` × directions consumes that many
Keras layers, e.g. a ``Bidirectional`` pair); ``mapping`` overrides it per layer. Every pair is
checked (layer kind, each weight's shape after the layout conversion) before anything is
written; the writes go through :func:`kerasinit.bridge.modules.initialize` (``recurse=False``)
or, for weights it has no keyword for (Keras 1 per-gate RNN blocks, old-Keras fan overrides,
grouped convs that look depthwise), straight through :class:`kerasinit.Initializer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from kerasinit.bridge.initializer import Initializer
from kerasinit.bridge.layouts import Layout, Packed, TorchLayout
from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.specs import VarianceScalingSpec
from kerasinit.porting.matching import Pair, Unit, pair_up, torch_units

if TYPE_CHECKING:
    from kerasinit.porting.plan import Plan, PlanLayer, PlanRow

__all__ = ["ApplyEntry", "ApplyReport", "PlanMismatchError", "apply_plan"]

_RNN = re.compile(r"_l(\d+)(_reverse)?$")


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
        widths = [max(len(r[i]) for r in table) for i in range(len(cols) - 1)]
        lines = [head, ""]
        for i, row in enumerate(table):
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
                         + "  " + row[-1])
            if i == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 12)
        if self.problems:
            lines += ["", "Problems:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"keras_version": self.keras_version, "problems": list(self.problems),
                "unmatched_keras": list(self.unmatched_keras),
                "pairs": [{"keras": list(k), "torch": t} for k, t in self.pairs],
                "entries": [e.__dict__ for e in self.entries]}


@dataclass
class _Work:
    """The checked plan for one pair: initialize() keywords and direct fills."""

    pair: Pair
    keywords: dict[str, object] = field(default_factory=dict)
    direct: list[tuple[str, torch.Tensor, Initializer, Layout, tuple[float, float] | None]] = \
        field(default_factory=list)
    rows: dict[str, PlanRow] = field(default_factory=dict)  # torch name -> Keras row
    problems: list[str] = field(default_factory=list)


def _qual(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _tensor(module: nn.Module, name: str) -> torch.Tensor:
    obj: Any = module
    for part in name.split("."):
        obj = getattr(obj, part)
    assert isinstance(obj, torch.Tensor)
    return obj


def _keras_layer_for(pair: Pair, name: str) -> PlanLayer:
    match = _RNN.search(name.split(".")[-1])
    if match is None or len(pair.keras) == 1:
        return pair.keras[0]
    dirs = 2 if getattr(pair.unit.module, "bidirectional", False) else 1
    index = int(match.group(1)) * dirs + (1 if match.group(2) else 0)
    return pair.keras[min(index, len(pair.keras) - 1)]


_MHA_ROWS = {"in_proj_weight": ("query/kernel", "key/kernel", "value/kernel"),
             "q_proj_weight": ("query/kernel",), "k_proj_weight": ("key/kernel",),
             "v_proj_weight": ("value/kernel",),
             "in_proj_bias": ("query/bias", "key/bias", "value/bias"),
             "out_proj.weight": ("attention_output/kernel",),
             "out_proj.bias": ("attention_output/bias",)}


def _rows_for(layer: PlanLayer, name: str, role: str) -> list[PlanRow]:
    if layer.class_name == "MultiHeadAttention" and name in _MHA_ROWS:
        wanted = _MHA_ROWS[name]
        return [r for w in wanted for r in layer.rows if r.weight == w]
    keras_role = "bias" if role == "recurrent_bias" else role
    return [r for r in layer.rows if r.role == keras_role]


def _shapes(layout: Layout, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    blocks = layout.blocks(shape)
    if blocks is None:
        return [layout.keras_shape(shape)]
    return [lay.keras_shape((sl.stop - sl.start, *shape[1:])) for sl, lay in blocks]


def _same(role: str, torch_shapes: list[tuple[int, ...]], rows: list[PlanRow]) -> bool:
    keras = [r.keras_shape for r in rows]
    if any(k is None for k in keras):
        return len(keras) == len(torch_shapes)
    if role in ("bias", "recurrent_bias") and rows[0].class_name in (
            "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "CuDNNLSTM",
            "CuDNNGRU"):
        k = keras[0]
        return k is not None and len(torch_shapes) == 1 and torch_shapes[0][-1:] == k[-1:]
    if role == "alpha":
        squeeze = [tuple(d for d in s if d != 1) for s in torch_shapes]
        return squeeze == [tuple(d for d in k if d != 1) for k in keras if k is not None]
    return torch_shapes == keras


def _check(pair: Pair, version_label: str) -> _Work:
    work = _Work(pair)
    unit = pair.unit
    seen_rows: set[tuple[str, str]] = set()
    for p in unit.params:
        layer = _keras_layer_for(pair, p.name)
        torch_name = _qual(unit.path, p.name)
        rows = _rows_for(layer, p.name, p.role)
        if not rows:
            work.problems.append(
                f"torch {torch_name} ({unit.kind} {p.role}) has no Keras weight in "
                f"{layer.path} ({layer.class_name}: {', '.join(r.weight for r in layer.rows)})")
            continue
        tensor = _tensor(unit.module, p.name)
        layout = unit.layouts.get(p.name, p.layout)
        try:
            shapes = _shapes(layout, tuple(tensor.shape))
        except KerasInitError as exc:
            work.problems.append(f"torch {torch_name}: {exc}")
            continue
        if not _same(p.role, shapes, rows):
            seen_rows.update((r.layer, r.weight) for r in rows)
            want = ", ".join(f"{r.weight} {r.shape_text}" for r in rows)
            work.problems.append(
                f"shape mismatch: Keras {layer.path} ({layer.class_name}) {want} vs torch "
                f"{torch_name} {tuple(tensor.shape)} (Keras layout {', '.join(map(str, shapes))})")
            continue
        for r in rows:
            seen_rows.add((r.layer, r.weight))
        row = rows[0]
        work.rows[torch_name] = row
        if row.blocks > 1 or row.fans is not None or unit.direct or p.name in unit.layouts:
            fill_layout = layout if row.blocks == 1 else Packed((TorchLayout(),) * row.blocks)
            init = Initializer(row.initializer, row.keras_version)
            fans = None
            if isinstance(row.initializer, VarianceScalingSpec) and row.resolved is not None:
                fans = (row.resolved.fan_in, row.resolved.fan_out)
            try:
                init.describe(tuple(tensor.shape), layout=fill_layout, fans=fans)
            except KerasInitError as exc:
                work.problems.append(f"torch {torch_name}: {exc}")
                continue
            work.direct.append((torch_name, tensor, init, fill_layout, fans))
        elif p.role != "recurrent_bias":
            prev = work.keywords.get(p.keyword)
            if prev is not None and prev != row.initializer:
                work.problems.append(
                    f"{torch_name}: the Keras layers {', '.join(k.path for k in pair.keras)} use "
                    f"different {p.keyword}s; one torch module cannot take both")
            work.keywords[p.keyword] = row.initializer
    for layer in pair.keras:
        for r in layer.rows:
            if (r.layer, r.weight) not in seen_rows:
                work.problems.append(
                    f"Keras {r.layer}/{r.weight} {r.shape_text} has no torch parameter in "
                    f"{unit.path or '(root)'} ({type(unit.module).__name__})")
        if "unit_forget_bias" in layer.options and "bias_initializer" in work.keywords:
            work.keywords["unit_forget_bias"] = bool(layer.options["unit_forget_bias"])
    return work


def apply_plan(
    plan: Plan,
    model: nn.Module,
    *,
    mapping: dict[str, str] | None = None,
    strict: bool = True,
    generator: torch.Generator | None = None,
    rng: str = "torch",
) -> ApplyReport:
    """See :meth:`kerasinit.porting.plan.Plan.apply`."""
    from kerasinit.bridge.modules import initialize

    if not isinstance(model, nn.Module):
        raise KerasInitError(f"plan.apply needs a torch.nn.Module. Received {type(model).__name__}.")
    units = torch_units(model)
    pairs, unmatched_keras, unmatched_units, problems = pair_up(plan, model, units, mapping)
    label = plan.keras_version.label()
    works = [_check(p, label) for p in pairs]
    for w in works:
        problems += w.problems
    if problems and strict:
        report = _report(plan, works, unmatched_units, problems, unmatched_keras, {}, applied=False)
        raise PlanMismatchError(
            "The torch model does not match the Keras plan; nothing was written:\n  - "
            + "\n  - ".join(problems) + "\n(pass mapping={keras_layer: torch_module} to pair "
            "layers explicitly, or strict=False to apply what matches)", report)
    done: dict[str, tuple[str, str, str]] = {}
    for w in works:
        if w.problems:
            continue
        unit = w.pair.unit
        for name, tensor, init, layout, fans in w.direct:
            init(tensor, layout=layout, fans=fans, generator=generator, rng=rng)
            r = w.rows[name]
            done[name] = (r.initializer.name, r.resolved_text, "")
        if w.keywords:
            keywords: dict[str, Any] = dict(w.keywords)
            rep = initialize(unit.module, keras_version=plan.keras_version, generator=generator,
                             rng=rng, recurse=False, **keywords)
            for row in rep.rows:
                name = _qual(unit.path, row.name)
                text = row.distribution
                planned = w.rows.get(name)
                if planned is not None and isinstance(planned.initializer, VarianceScalingSpec):
                    text += f"; fans {row.fan_in:g}/{row.fan_out:g}"
                done[name] = (row.initializer, text, row.note)
    return _report(plan, works, unmatched_units, problems, unmatched_keras, done, applied=True)


def _report(plan: Plan, works: list[_Work], unmatched_units: list[Unit], problems: list[str],
            unmatched_keras: list[str], done: dict[str, tuple[str, str, str]],
            applied: bool) -> ApplyReport:
    entries: list[ApplyEntry] = []
    for w in works:
        status_default = "mismatch" if w.problems or not applied else "applied"
        for p in w.pair.unit.params:
            name = _qual(w.pair.unit.path, p.name)
            row = w.rows.get(name)
            init, dist, note = done.get(name, ("", "", ""))
            status = "applied" if name in done else (
                "mismatch" if status_default == "mismatch" else "not written")
            entries.append(ApplyEntry(
                name, row.layer if row else "", row.weight if row else "",
                init or (row.initializer.name if row else ""),
                dist or (row.resolved_text if row else ""), status, note))
    for u in unmatched_units:
        for p in u.params:
            entries.append(ApplyEntry(_qual(u.path, p.name), "", "", "", "", "unmatched",
                                      f"no Keras layer for this {u.kind}"))
    pairs = tuple((tuple(k.path for k in w.pair.keras), w.pair.unit.path) for w in works)
    return ApplyReport(tuple(entries), pairs, tuple(problems), tuple(unmatched_keras),
                       plan.keras_version.label())

