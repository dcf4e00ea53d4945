"""Check one pair (Keras layers, torch unit) before anything is written: kind, each weight's shape
after the layout conversion, and where each tensor's value comes from.

Per torch tensor the result is a Keras row (written through :func:`initialize` keywords or
filled directly), a Keras implicit value (``BatchNormalization(scale=False)`` -> gamma 1), or a
problem. Keras weights with no torch tensor are *dropped* (biases, normalization weights and
statistics) or, for kernels, a problem. Shapes compare after merging adjacent Keras axes
(an ``EinsumDense`` kernel ``(D, heads, head_dim)`` equals a Linear's ``(D, heads*head_dim)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from kerasinit.bridge.initializer import Initializer
from kerasinit.bridge.layouts import Layout, Packed, TorchLayout
from kerasinit.mappings import layers as table
from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.parse import parse_identifier
from kerasinit.mappings.specs import Spec, VarianceScalingSpec
from kerasinit.mappings.versions import KerasVersion
from kerasinit.modules.rnn import tensor_at
from kerasinit.porting.matching import Pair, keras_family
from kerasinit.porting.report import Dropped

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanRow

__all__ = ["Work", "check_pair", "keras_layer_for", "rows_for"]


@dataclass
class Work:
    """The checked plan for one pair: initialize() keywords and direct fills."""

    pair: Pair
    keywords: dict[str, object] = field(default_factory=dict)
    direct: list[tuple[str, torch.Tensor, Initializer, Layout, tuple[float, float] | None]] = \
        field(default_factory=list)
    rows: dict[str, PlanRow] = field(default_factory=dict)  # torch name -> Keras row
    problems: list[str] = field(default_factory=list)
    gru_biases: list[tuple[str, str, Initializer, bool, tuple[float, float] | None]] = \
        field(default_factory=list)
    implicit: dict[str, tuple[PlanLayer, Spec, str]] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # torch name -> why not written


_RNN = re.compile(r"_l(\d+)(_reverse)?$")


def keras_layer_for(pair: Pair, name: str) -> PlanLayer:
    match = _RNN.search(name.split(".")[-1])
    if match is None or len(pair.keras) == 1:
        return pair.keras[0]
    dirs = 2 if getattr(pair.unit.module, "bidirectional", False) else 1
    index = int(match.group(1)) * dirs + (1 if match.group(2) else 0)
    return pair.keras[min(index, len(pair.keras) - 1)]


_MHA_ROWS = {"in_proj_weight": ("query/kernel", "key/kernel", "value/kernel"),
             "q.weight": ("query/kernel",), "k.weight": ("key/kernel",),
             "v.weight": ("value/kernel",), "o.weight": ("attention_output/kernel",),
             "q.bias": ("query/bias",), "k.bias": ("key/bias",), "v.bias": ("value/bias",),
             "o.bias": ("attention_output/bias",),
             "q_proj_weight": ("query/kernel",), "k_proj_weight": ("key/kernel",),
             "v_proj_weight": ("value/kernel",),
             "in_proj_bias": ("query/bias", "key/bias", "value/bias"),
             "out_proj.weight": ("attention_output/kernel",),
             "out_proj.bias": ("attention_output/bias",)}


def rows_for(layer: PlanLayer, name: str, role: str) -> list[PlanRow]:
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
    entry = table.layer(rows[0].class_name)
    if role in ("bias", "recurrent_bias") and entry is not None and entry.builder == "rnn":
        k = keras[0]
        return k is not None and len(torch_shapes) == 1 and torch_shapes[0][-1:] == k[-1:]
    if role in ("alpha", "scale"):
        squeeze = [tuple(d for d in s if d != 1) for s in torch_shapes]
        return squeeze == [tuple(d for d in k if d != 1) for k in keras if k is not None]
    return len(torch_shapes) == len(keras) and all(
        k is not None and _merged(t, k) for t, k in zip(torch_shapes, keras, strict=True))


def _merged(torch_shape: tuple[int, ...], keras: tuple[int, ...]) -> bool:
    """Equal, or equal after merging adjacent Keras axes (EinsumDense (D, h, d) ~ (D, h*d))."""
    if torch_shape == keras:
        return True
    i = 0
    for dim in torch_shape:
        acc = 1
        while i < len(keras) and acc < dim:
            acc *= keras[i]
            i += 1
        if acc != dim:
            return False
    return i == len(keras)


_NORMS = ("BatchNormalization", "LayerNormalization", "GroupNormalization")
_IMPLICIT = {"gamma": ("ones", "scale=False: no gamma, fixed at 1"),
             "beta": ("zeros", "center=False: no beta, fixed at 0")}
_DROPPABLE = ("bias", "depthwise_bias", "gamma", "beta", "moving_mean", "moving_variance")


def check_pair(pair: Pair, version: KerasVersion, excluded: frozenset[str] = frozenset()
               ) -> Work:
    """Check one pair; ``excluded`` holds ``"layer/weight"`` rows the user dropped
    (:meth:`Plan.drop <kerasinit.porting.plan.Plan.drop>`): their torch tensors stay untouched."""
    work = Work(pair)
    unit = pair.unit
    seen_rows: set[tuple[str, str]] = set()
    split = _split_keywords(pair)
    for p in unit.params:
        layer = keras_layer_for(pair, p.name)
        torch_name = unit.qual(p.name)
        rows = rows_for(layer, p.name, p.role)
        if rows and all(f"{r.layer}/{r.weight}" in excluded for r in rows):
            seen_rows.update((r.layer, r.weight) for r in rows)
            work.skipped[torch_name] = "its Keras weight was dropped with plan.drop()"
            work.dropped += [Dropped(r.layer, r.weight, r.initializer_text, "plan.drop()")
                             for r in rows]
            continue
        if not rows:
            implicit = _IMPLICIT.get(p.role)
            if implicit is not None and keras_family(layer.class_name) in _NORMS:
                spec = parse_identifier(implicit[0], version)
                note = (f"Keras {layer.class_name}({implicit[1]}; Keras keeps it frozen, torch "
                        f"trains it unless you freeze it)")
                work.implicit[torch_name] = (layer, spec, note)
                if unit.direct:
                    tensor = tensor_at(unit.module, p.name)
                    work.direct.append((torch_name, tensor, Initializer(spec, version),
                                        TorchLayout(), None))
                else:
                    work.keywords[p.keyword] = spec
                continue
            work.problems.append(
                f"torch {torch_name} ({unit.kind} {p.role}) has no Keras weight in "
                f"{layer.path} ({layer.class_name}: {', '.join(r.weight for r in layer.rows)})")
            continue
        tensor = tensor_at(unit.module, p.name)
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
        if (row.blocks > 1 or row.fans is not None or unit.direct or p.name in unit.layouts
                or p.keyword in split):
            for target, block_layout, block_row in _fill_targets(tensor, layout, rows):
                fill_layout = (block_layout if block_row.blocks == 1 else
                               Packed((TorchLayout(),) * block_row.blocks))
                init = Initializer(block_row.initializer, block_row.keras_version)
                fans = None
                if (isinstance(block_row.initializer, VarianceScalingSpec)
                        and block_row.resolved is not None):
                    fans = (block_row.resolved.fan_in, block_row.resolved.fan_out)
                try:
                    init.describe(tuple(target.shape), layout=fill_layout, fans=fans)
                except KerasInitError as exc:
                    work.problems.append(f"torch {torch_name}: {exc}")
                    break
                work.direct.append((torch_name, target, init, fill_layout, fans))
        elif p.role != "recurrent_bias":
            prev = work.keywords.get(p.keyword)
            if prev is not None and prev != row.initializer:
                work.problems.append(
                    f"{torch_name}: the Keras layers {', '.join(k.path for k in pair.keras)} use "
                    f"different {p.keyword}s; one torch module cannot take both")
            work.keywords[p.keyword] = row.initializer
    for layer in pair.keras:
        for r in layer.rows:
            if (r.layer, r.weight) in seen_rows:
                continue
            where = f"{unit.path or '(root)'} ({type(unit.module).__name__})"
            if r.role in _DROPPABLE:
                work.dropped.append(Dropped(r.layer, r.weight, r.initializer_text,
                                            f"torch {where} has no {r.role} tensor"))
            else:
                work.problems.append(f"Keras {r.layer}/{r.weight} {r.shape_text} has no torch "
                                     f"parameter in {where}")
        if "unit_forget_bias" in layer.options and "bias_initializer" in work.keywords:
            work.keywords["unit_forget_bias"] = bool(layer.options["unit_forget_bias"])
    _gru_bias_plan(work)
    return work


def _split_keywords(pair: Pair) -> set[str]:
    """Keywords whose Keras weights in this pair have different initializers (per-weight seeds
    of a replayed ``set_random_seed``, one torch module for several Keras layers): those
    tensors are filled one by one instead of through one ``initialize(**keywords)`` call."""
    specs: dict[str, set[object]] = {}
    for p in pair.unit.params:
        for r in rows_for(keras_layer_for(pair, p.name), p.name, p.role):
            specs.setdefault(p.keyword, set()).add(r.initializer)
    return {k for k, v in specs.items() if len(v) > 1}


def _fill_targets(tensor: torch.Tensor, layout: Layout,
                  rows: list[PlanRow]) -> list[tuple[torch.Tensor, Layout, PlanRow]]:
    """One torch tensor holding several Keras weights (``in_proj_weight`` = query, key, value)
    with different initializers: its blocks, each with its own row."""
    if len(rows) > 1 and len({r.initializer for r in rows}) > 1:
        blocks = layout.blocks(tuple(tensor.shape))
        if blocks is not None and len(blocks) == len(rows):
            return [(tensor[sl], lay, r) for (sl, lay), r in zip(blocks, rows, strict=True)]
    return [(tensor, layout, rows[0])]


def _gru_bias_plan(work: Work) -> None:
    """GRU biases whose ``reset_after`` differs from the version default are filled here.

    :func:`~kerasinit.modules.apply.initialize` follows the version's default ``reset_after``
    (the same rule as :func:`~kerasinit.mappings.layers.gru_reset_after`);
    a layer that set it explicitly (tf_keras ``GRU(reset_after=False)``, Keras 2.1
    ``reset_after=True``) gets its own Keras bias shape: ``(2, 3H)`` -> rows to ``bias_ih`` /
    ``bias_hh``; ``(3H,)`` -> ``bias_ih``, with ``bias_hh`` zero (torch always applies the reset
    gate after the recurrent matmul, so that GRU is only approximately portable).
    """
    pair = work.pair
    if pair.unit.kind != "GRU" or "bias_initializer" not in work.keywords:
        return
    version = pair.keras[0].rows[0].keras_version
    if all(k.options.get("reset_after") == table.gru_reset_after(version)
           for k in pair.keras):
        return
    spec = work.keywords.pop("bias_initializer")
    for p in pair.unit.params:
        if p.role != "bias":
            continue
        name = pair.unit.qual(p.name)
        row = work.rows[name]
        layer = keras_layer_for(pair, p.name)
        fans = None
        if isinstance(row.initializer, VarianceScalingSpec) and row.resolved is not None:
            fans = (row.resolved.fan_in, row.resolved.fan_out)
        work.gru_biases.append((p.name, p.name.replace("bias_ih", "bias_hh"),
                                Initializer(row.initializer, version),
                                bool(layer.options.get("reset_after")), fans))
        work.rows[pair.unit.qual(p.name.replace("bias_ih", "bias_hh"))] = row
    del spec


