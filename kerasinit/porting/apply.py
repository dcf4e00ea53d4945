"""``plan.apply(torch_model)``: pair, check every pair, then initialize (all or nothing).

Pairing is :func:`kerasinit.porting.pairing.pair` (names, the traced data flow, kinds and
shapes; ``mapping`` entries first). Every pair is checked (:mod:`kerasinit.porting.checks`)
before anything is written; the writes go through :func:`kerasinit.modules.apply.initialize`
(``recurse=False``) or, for weights it has no keyword for (Keras 1 per-gate RNN blocks, old-Keras
fan overrides, grouped convs that look depthwise, modules grouped by the pairing), straight
through :class:`kerasinit.Initializer`. If a write fails, what was written is put back.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from kerasinit.bridge.checks import check_tensor
from kerasinit.bridge.initializer import RNGS, Initializer, RngName
from kerasinit.mappings.errors import (
    InitializerArgumentError,
    KerasInitError,
    format_choices,
    shown,
)
from kerasinit.mappings.specs import VarianceScalingSpec
from kerasinit.modules import apply as module_apply
from kerasinit.modules.rnn import RnnBias, apply_rnn_bias, tensor_at
from kerasinit.modules.tied import Owner, first_write, tied_duplicates, write_once
from kerasinit.porting.checks import Work, check_pair, keras_layer_for, rows_for
from kerasinit.porting.hf import apply_twin, find_twin
from kerasinit.porting.pairing import Pairing, pair
from kerasinit.porting.report import (
    ApplyEntry,
    ApplyReport,
    Dropped,
    PlanMismatchError,
    mismatch_message,
)

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanView

__all__ = ["ApplyEntry", "ApplyReport", "PlanMismatchError", "apply_plan"]

_keras_layer_for = keras_layer_for  # the names load_weights imports
_rows_for = rows_for


def _gru_bias(module: nn.Module, ih_name: str, hh_name: str, init: Initializer,
              reset_after: bool, fans: tuple[float, float] | None,
              rng: RngName | None) -> RnnBias:
    """The GRU bias write, for the one RNN bias writer (:func:`~kerasinit.modules.rnn.apply_rnn_bias`)."""
    ih, hh = tensor_at(module, ih_name), tensor_at(module, hh_name)
    return RnnBias(ih, hh, init, forget=False, hidden=int(ih.shape[0]) // 3, gru=True,
                   reset_after=reset_after, fans=fans, rng=rng)


def apply_plan(
    plan: PlanView,
    model: nn.Module,
    *,
    mapping: object = None,
    strict: bool = True,
    generator: torch.Generator | None = None,
    rng: RngName | None = "torch",
    example_input: object = None,
    notes: tuple[str, ...] = (),
    pairing: Pairing | None = None,
    rollback: bool = False,
) -> ApplyReport:
    """See :meth:`kerasinit.porting.plan.Plan.apply`."""
    if not isinstance(model, nn.Module):
        raise KerasInitError(f"plan.apply needs a torch.nn.Module. Received {type(model).__name__}.")
    twin = find_twin(plan, model) if mapping is None else None
    if twin is not None:  # a keras_hub backbone onto its transformers twin: pairing by name
        return apply_twin(plan, model, *twin, strict=strict, generator=generator, rng=rng)
    if pairing is None:
        pairing = pair(plan, model, mapping=mapping, example_input=example_input)
    excluded = frozenset(plan.excluded)
    works = []
    ordered: list[str] = []
    for p, kind in zip(pairing.pairs, pairing.pair_problems, strict=True):
        work = Work(p, problems=[kind]) if kind else check_pair(p, plan.keras_version, excluded)
        works.append(work)
        ordered += work.problems
    problems = tuple(ordered + list(pairing.problems))
    notes = (*pairing.ties, f"torch data flow: {pairing.flow}", *notes)
    if problems and strict:
        report = _report(plan, model, pairing, works, {}, problems, notes, written=False)
        raise PlanMismatchError(mismatch_message(problems, first=_first(plan, works)), report)
    todo = [w for w in works if not w.problems]
    for i, w in enumerate(works):  # strict=False: write the tensors that fit
        if w.problems and not w.pair.unit.kind.startswith(("LSTM", "GRU", "SimpleRNN")) \
                and not pairing.pair_problems[i]:
            partial = check_pair(dataclasses.replace(w.pair, unit=dataclasses.replace(
                w.pair.unit, direct=True)), plan.keras_version, excluded)
            partial.problems = w.problems
            works[i] = partial
            todo.append(partial)
    todo = [w for w in todo if not any(t.is_meta for t in _tensors(w))]
    _check_rng(todo, rng)
    _check_tied(todo)
    _validate(todo, plan, generator, rng)  # every write's checks, before the first write
    saved = [(t, t.detach().clone()) for w in todo for t in _tensors(w)] if rollback else []
    rng_state = torch.get_rng_state()
    gen_state = generator.get_state() if generator is not None else None
    done: dict[str, tuple[str, str, str]] = {}
    try:
        with write_once():  # a tied tensor (one Parameter, two modules) is written once
            _write(todo, plan, generator, rng, done)
    except BaseException as exc:
        with torch.no_grad():  # rollback=True: put back what was already written
            for tensor, copy in saved:
                tensor.copy_(copy)
        torch.set_rng_state(rng_state)
        if generator is not None and gen_state is not None:
            generator.set_state(gen_state)
        if not rollback and done and hasattr(exc, "add_note"):
            exc.add_note(_partial_note(done))
        raise
    return _report(plan, model, pairing, works, done, problems, notes, written=True)


def _partial_note(done: dict[str, tuple[str, str, str]]) -> str:
    """What a write that failed after every check (an interrupt, a device error) left behind."""
    names = list(done)
    return (f"kerasinit: plan.apply failed while writing, after every check passed; "
            f"{len(names)} torch tensor(s) were already written ({', '.join(names[:6])}"
            f"{', ...' if len(names) > 6 else ''}; the failing module's may be part-written); "
            f"torch's RNG states were restored, so "
            f"calling apply again writes the same values. Pass rollback=True to have the old "
            f"values put back instead (costs a copy of every tensor).")


def _first(plan: PlanView, works: list[Work]) -> str:
    """``Keras layer #k NAME (Class) vs torch module PATH (Class)`` of the first pair (in the
    torch forward order) with a problem, or ``""``."""
    index = {layer.path: i + 1 for i, layer in enumerate(plan.layers)}
    for w in works:
        if w.problems:
            k, u = w.pair.keras[0], w.pair.unit
            return (f"Keras layer #{index.get(k.path, 0)} {k.path} ({k.class_name}) vs torch "
                    f"module {u.path or '(root)'} ({type(u.module).__name__})")
    return ""


def _report(plan: PlanView, model: nn.Module, pairing: Pairing, works: list[Work],
            done: dict[str, tuple[str, str, str]], problems: tuple[str, ...],
            notes: tuple[str, ...], written: bool) -> ApplyReport:
    """One entry per torch parameter of the model (and per buffer a Keras weight explains)."""
    entries: dict[str, ApplyEntry] = {}
    for w in works:
        unit = w.pair.unit
        for p in unit.params:
            name = unit.qual(p.name)
            tensor = tensor_at(unit.module, p.name)
            row = w.rows.get(name)
            implicit = w.implicit.get(name)
            fits = row is not None or implicit is not None
            if name in w.skipped:
                status, note = "untouched", w.skipped[name]
            elif tensor.is_meta and fits:
                status, note = "planned", "meta tensor: nothing to write"
            elif name in done:
                status, note = ("implicit", implicit[2]) if implicit else ("applied", "")
            elif not fits:
                status = "mismatch" if w.problems else "untouched"
                note = "; ".join(q for q in w.problems if name in q)[:300] or "no Keras weight"
            else:
                status = "mismatch" if written else "untouched"
                note = "" if written else "nothing written: the model does not match the plan"
            init, dist, extra = done.get(name, ("", "", ""))
            if not init and row is not None:
                init, dist = row.initializer.name, row.resolved_text
            if not init and implicit is not None:
                init, dist = implicit[1].name, "constant"
            layer = row.layer if row else (implicit[0].path if implicit else "")
            weight = row.weight if row else (p.role if implicit else "")
            entries[name] = ApplyEntry(name, layer, weight, init, dist, status,
                                       "; ".join(x for x in (note, extra) if x))
    for unit in pairing.unmatched_units:
        for p in unit.params:
            entries.setdefault(unit.qual(p.name), ApplyEntry(
                unit.qual(p.name), "", "", "", "", "untouched",
                f"no Keras layer for this {unit.kind}"))
    for name, _ in model.named_parameters():
        if name not in entries:
            owner = name.rsplit(".", 1)[0] if "." in name else ""
            kind = type(model.get_submodule(owner)).__name__
            entries[name] = ApplyEntry(name, "", "", "", "", "untouched",
                                       f"{kind}.{name.rsplit('.', 1)[-1]} has no Keras "
                                       f"counterpart kerasinit knows")
    order = {n: i for i, (n, _) in enumerate(model.named_parameters())}
    ordered = sorted(entries.values(), key=lambda e: order.get(e.torch_name, len(order)))
    dropped: list[Dropped] = [d for w in works for d in w.dropped]
    return ApplyReport(tuple(ordered),
                       tuple((tuple(k.path for k in p.keras), p.unit.path) for p in pairing.pairs),
                       problems, tuple(k.path for k in pairing.unmatched_keras),
                       plan.keras_version.label(), tuple(dropped), pairing.how, notes)


def _tensors(work: Work) -> list[torch.Tensor]:
    unit = work.pair.unit
    return [tensor_at(unit.module, p.name) for p in unit.params
            if unit.qual(p.name) not in work.skipped]


def _check_tied(works: list[Work]) -> None:
    """Tied tensors (one Parameter in two paired modules): warn, or raise if their Keras
    weights would draw them differently (see :mod:`kerasinit.modules.tied`)."""
    owners = []
    for w in works:
        unit = w.pair.unit
        for p in unit.params:
            name = unit.qual(p.name)
            if name not in w.skipped:
                row = w.rows.get(name)
                owners.append(Owner(name, tensor_at(unit.module, p.name),
                                    row.resolved_text if row else "not planned"))
    tied_duplicates(owners)


def _check_rng(works: list[Work], rng: RngName | None) -> None:
    """Seed-faithful streams need seeded initializers: refuse before anything is written."""
    if rng is None or rng == "torch":
        return
    if not isinstance(rng, str) or rng not in RNGS:
        raise InitializerArgumentError(
            f"Unknown rng {shown(rng)}. Valid: {format_choices(RNGS)} (nothing was written).")
    unseeded = sorted({f"{r.layer}/{r.weight} ({r.initializer.class_name})" for w in works
                       for r in w.rows.values()
                       if r.initializer.is_random and getattr(r.initializer, "seed", None) is None})
    if unseeded:
        raise KerasInitError(
            f"rng={rng!r} reproduces Keras's values from each initializer's seed, but these "
            f"initializers have seed=None: {', '.join(unseeded[:8])}"
            f"{', ...' if len(unseeded) > 8 else ''}. Use rng='torch' (nothing was written).")


def _validate(works: list[Work], plan: PlanView, generator: object,
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


def _write(works: list[Work], plan: PlanView, generator: torch.Generator | None,
           rng: RngName | None, done: dict[str, tuple[str, str, str]]) -> None:
    """Write every work, recording each written torch tensor in ``done`` as it goes."""
    for w in works:
        unit = w.pair.unit
        for name, tensor, init, layout, fans in w.direct:
            if first_write(tensor):
                init(tensor, layout=layout, fans=fans, generator=generator, rng=rng)
            r = w.rows.get(name)
            done[name] = (r.initializer.name, r.resolved_text, "") if r else (
                init.spec.name, "constant", "")
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
            rep = module_apply.initialize(unit.module, keras_version=plan.keras_version, generator=generator,
                             rng=rng, recurse=False, **keywords)
            for row in rep.rows:
                name = unit.qual(row.name)
                text = row.distribution
                planned = w.rows.get(name)
                if planned is not None and isinstance(planned.initializer, VarianceScalingSpec):
                    text += f"; fans {row.fan_in:g}/{row.fan_out:g}"
                done[name] = (row.initializer, text, row.note)
