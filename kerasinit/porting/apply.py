"""``plan.apply(torch_model)``: pair Keras layers with torch modules, check, then initialize.

Torch modules are the ones :func:`kerasinit.modules.apply.module_params` knows, plus plain
containers with ``.depthwise`` / ``.pointwise`` conv children (a Keras ``SeparableConv``; a
depthwise conv followed by a 1x1 conv in module order also pairs with one).
Pairing is positional (weight-bearing Keras layers in file order against torch modules in
``named_modules()`` order; a torch RNN with ``num_layers`` × directions consumes that many
Keras layers, e.g. a ``Bidirectional`` pair); ``mapping`` overrides it per layer. Every pair is
checked (layer kind, each weight's shape after the layout conversion) before anything is
written; the writes go through :func:`kerasinit.modules.apply.initialize` (``recurse=False``)
or, for weights it has no keyword for (Keras 1 per-gate RNN blocks, old-Keras fan overrides,
grouped convs that look depthwise), straight through :class:`kerasinit.Initializer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from kerasinit.bridge.checks import check_tensor
from kerasinit.bridge.initializer import Initializer, RngName
from kerasinit.bridge.layouts import Layout, Packed, TorchLayout
from kerasinit.mappings import layers as table
from kerasinit.mappings.errors import KerasInitError, shown
from kerasinit.mappings.specs import VarianceScalingSpec
from kerasinit.modules import apply as module_apply
from kerasinit.modules.rnn import RnnBias, apply_rnn_bias, tensor_at
from kerasinit.porting.hf import apply_twin, find_twin
from kerasinit.porting.matching import Pair, pair_up, torch_units
from kerasinit.porting.report import ApplyEntry, ApplyReport, PlanMismatchError, build_report

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanRow, PlanView

__all__ = ["ApplyEntry", "ApplyReport", "PlanMismatchError", "apply_plan"]


_RNN = re.compile(r"_l(\d+)(_reverse)?$")


@dataclass
class _Work:
    """The checked plan for one pair: initialize() keywords and direct fills."""

    pair: Pair
    keywords: dict[str, object] = field(default_factory=dict)
    direct: list[tuple[str, torch.Tensor, Initializer, Layout, tuple[float, float] | None]] = \
        field(default_factory=list)
    rows: dict[str, PlanRow] = field(default_factory=dict)  # torch name -> Keras row
    problems: list[str] = field(default_factory=list)
    gru_biases: list[tuple[str, str, Initializer, bool, tuple[float, float] | None]] = \
        field(default_factory=list)


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
    entry = table.layer(rows[0].class_name)
    if role in ("bias", "recurrent_bias") and entry is not None and entry.builder == "rnn":
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
    split = _split_keywords(pair)
    for p in unit.params:
        layer = _keras_layer_for(pair, p.name)
        torch_name = unit.qual(p.name)
        rows = _rows_for(layer, p.name, p.role)
        if not rows:
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
            if (r.layer, r.weight) not in seen_rows:
                work.problems.append(
                    f"Keras {r.layer}/{r.weight} {r.shape_text} has no torch parameter in "
                    f"{unit.path or '(root)'} ({type(unit.module).__name__})")
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
        for r in _rows_for(_keras_layer_for(pair, p.name), p.name, p.role):
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


def _gru_bias_plan(work: _Work) -> None:
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
        layer = _keras_layer_for(pair, p.name)
        fans = None
        if isinstance(row.initializer, VarianceScalingSpec) and row.resolved is not None:
            fans = (row.resolved.fan_in, row.resolved.fan_out)
        work.gru_biases.append((p.name, p.name.replace("bias_ih", "bias_hh"),
                                Initializer(row.initializer, version),
                                bool(layer.options.get("reset_after")), fans))
        work.rows[pair.unit.qual(p.name.replace("bias_ih", "bias_hh"))] = row
    del spec


def _gru_bias(module: nn.Module, ih_name: str, hh_name: str, init: Initializer,
              reset_after: bool, fans: tuple[float, float] | None,
              rng: RngName | None) -> RnnBias:
    ih, hh = tensor_at(module, ih_name), tensor_at(module, hh_name)
    return RnnBias(ih, hh, init, forget=False, hidden=int(ih.shape[0]) // 3, gru=True,
                   reset_after=reset_after, fans=fans, rng=rng)


def apply_plan(
    plan: PlanView,
    model: nn.Module,
    *,
    mapping: dict[str, str] | None = None,
    strict: bool = True,
    generator: torch.Generator | None = None,
    rng: RngName | None = "torch",
) -> ApplyReport:
    """See :meth:`kerasinit.porting.plan.Plan.apply`."""
    if not isinstance(model, nn.Module):
        raise KerasInitError(f"plan.apply needs a torch.nn.Module. Received {type(model).__name__}.")
    twin = find_twin(plan, model) if mapping is None else None
    if twin is not None:  # a keras_hub backbone onto its transformers twin: pairing by name
        return apply_twin(plan, model, *twin, strict=strict, generator=generator, rng=rng)
    units = torch_units(model)
    pairs, unmatched_keras, unmatched_units, problems = pair_up(plan, model, units, mapping)
    label = plan.keras_version.label()
    works = [_check(p, label) for p in pairs]
    for w in works:
        problems += w.problems
    if problems and strict:
        report = build_report(plan, [(w.pair, w.rows, bool(w.problems)) for w in works], unmatched_units,
                              problems, unmatched_keras, {}, applied=False)
        raise PlanMismatchError(
            "The torch model does not match the Keras plan; nothing was written:\n  - "
            + "\n  - ".join(problems) + "\n(pass mapping={keras_layer: torch_module} to pair "
            "layers explicitly, or strict=False to apply what matches)", report)
    todo = [w for w in works if not w.problems]
    _check_rng(todo, rng)
    _validate(todo, plan, generator, rng)  # every write's checks, before the first write
    saved = [(t, t.detach().clone()) for w in todo for t in _tensors(w)]
    rng_state = torch.get_rng_state()
    gen_state = generator.get_state() if generator is not None else None
    try:
        done = _write(todo, plan, generator, rng)
    except BaseException:
        with torch.no_grad():  # all or nothing: put back what was already written
            for tensor, copy in saved:
                tensor.copy_(copy)
        torch.set_rng_state(rng_state)
        if generator is not None and gen_state is not None:
            generator.set_state(gen_state)
        raise
    return build_report(plan, [(w.pair, w.rows, bool(w.problems)) for w in works],
                        unmatched_units, problems, unmatched_keras, done, applied=True)


def _tensors(work: _Work) -> list[torch.Tensor]:
    unit = work.pair.unit
    return [tensor_at(unit.module, p.name) for p in unit.params]


def _check_rng(works: list[_Work], rng: RngName | None) -> None:
    """Seed-faithful streams need seeded initializers: refuse before anything is written."""
    if rng == "torch":
        return
    unseeded = sorted({f"{r.layer}/{r.weight} ({r.initializer.class_name})" for w in works
                       for r in w.rows.values()
                       if r.initializer.is_random and getattr(r.initializer, "seed", None) is None})
    if unseeded:
        raise KerasInitError(
            f"rng={rng!r} reproduces Keras's values from each initializer's seed, but these "
            f"initializers have seed=None: {', '.join(unseeded[:8])}"
            f"{', ...' if len(unseeded) > 8 else ''}. Use rng='torch' (nothing was written).")


def _validate(works: list[_Work], plan: PlanView, generator: object,
              rng: RngName | None) -> None:
    """The checks of every write :func:`_write` will make, writing and drawing nothing."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise KerasInitError(
            f"`generator` must be a torch.Generator or None. Received: {shown(generator, 80)} "
            f"(type {type(generator).__name__}).")
    for w in works:
        unit = w.pair.unit
        for _name, tensor, init, layout, fans in w.direct:
            init.validate(tensor, layout=layout, fans=fans, generator=generator,  # type: ignore[arg-type]
                          rng=rng)
        for ih_name, hh_name, init, reset_after, fans in w.gru_biases:
            ih = tensor_at(unit.module, ih_name)
            check_tensor(ih, init.class_name)
            check_tensor(tensor_at(unit.module, hh_name), init.class_name)
            n = ih.shape[0]
            probe = torch.empty((2, n) if reset_after else (n,), dtype=ih.dtype, device="meta")
            init.validate(probe, layout="keras", fans=fans, rng=rng)
        if w.keywords:
            keywords: dict[str, Any] = dict(w.keywords)
            module_apply.check_initialize(unit.module, keras_version=plan.keras_version,
                                          generator=generator,  # type: ignore[arg-type]
                                          rng=rng, recurse=False, **keywords)


def _write(works: list[_Work], plan: PlanView, generator: torch.Generator | None,
           rng: RngName | None) -> dict[str, tuple[str, str, str]]:
    done: dict[str, tuple[str, str, str]] = {}
    for w in works:
        unit = w.pair.unit
        for name, tensor, init, layout, fans in w.direct:
            init(tensor, layout=layout, fans=fans, generator=generator, rng=rng)
            r = w.rows[name]
            done[name] = (r.initializer.name, r.resolved_text, "")
        for ih_name, hh_name, init, reset_after, fans in w.gru_biases:
            apply_rnn_bias(_gru_bias(unit.module, ih_name, hh_name, init, reset_after, fans, rng),
                           generator)
            r = w.rows[unit.qual(ih_name)]
            note = ("rows of Keras's (2, 3H) bias" if reset_after else
                    "Keras reset_after=False bias in bias_ih, bias_hh zero (approximate GRU)")
            for n in (ih_name, hh_name):
                done[unit.qual(n)] = (r.initializer.name, r.resolved_text, note)
        if w.keywords:
            keywords: dict[str, Any] = dict(w.keywords)
            rep = module_apply.initialize(unit.module, keras_version=plan.keras_version,
                                          generator=generator, rng=rng, recurse=False, **keywords)
            for row in rep.rows:
                name = unit.qual(row.name)
                text = row.distribution
                planned = w.rows.get(name)
                if planned is not None and isinstance(planned.initializer, VarianceScalingSpec):
                    text += f"; fans {row.fan_in:g}/{row.fan_out:g}"
                done[name] = (row.initializer, text, row.note)
    return done
