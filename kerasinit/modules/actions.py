"""The write plan of :func:`~kerasinit.modules.apply.initialize` / ``keras_defaults_``.

A model becomes a list of actions (:class:`Fill`: one tensor, its Initializer, layout and
sampling plan; or an :class:`~kerasinit.modules.rnn.RnnBias`), planned module by module
(:func:`plan_module`, pure: validates and writes nothing), all validated again before the first
write (:func:`validate_actions`) and then written (:func:`apply_actions`).

Example:
    >>> import torch
    >>> [p for p, _, _ in walk_views(torch.nn.Sequential(torch.nn.Linear(2, 3)), recurse=True)]
    ['', '0']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from kerasinit.bridge.checks import check_generator, check_tensor, computed_by
from kerasinit.bridge.initializer import Initializer
from kerasinit.bridge.layouts import Layout
from kerasinit.bridge.samplers import Plan
from kerasinit.mappings.errors import LayoutError
from kerasinit.mappings.versions import KerasVersion
from kerasinit.modules.params import ModuleView, module_view
from kerasinit.modules.report import ReportRow, SkippedParam, make_row
from kerasinit.modules.rnn import (
    RNN_LAYERS,
    RnnBias,
    apply_rnn_bias,
    plan_rnn_bias,
    qualified,
    tensor_at,
    version_layout,
)
from kerasinit.modules.seeds import warn_identical
from kerasinit.modules.tied import Owner, first_write, tied_duplicates

__all__ = ["Action", "Fill", "apply_actions", "drop_tied", "plan_module", "skipped_of",
           "validate_actions", "walk_views", "warn_identical_fills"]


@dataclass(frozen=True)
class Fill:
    """One tensor to fill: its Initializer, layout and sampling plan."""

    tensor: torch.Tensor
    init: Initializer
    layout: Layout
    plan: Plan
    zero_rows: tuple[int, ...] = ()  # Embedding padding_idx rows, zeroed as torch does
    name: str = ""


Action = Fill | RnnBias


def walk_views(module: nn.Module, recurse: bool) -> Iterator[tuple[str, nn.Module, ModuleView]]:
    """``(prefix, module, its view)`` for each module to visit (claimed children skipped)."""
    if not recurse:
        yield "", module, module_view(module)
        return
    claimed: set[str] = set()
    for prefix, m in module.named_modules():
        if prefix in claimed:
            continue
        view = module_view(m)
        claimed.update(f"{prefix}.{c}" if prefix else c for c in view.claimed)
        yield prefix, m, view


def plan_module(
    prefix: str, module: nn.Module, view: ModuleView, inits: dict[str, Initializer],
    forget: bool | None, version: KerasVersion,
) -> tuple[list[Action], list[ReportRow], set[str]]:
    """The actions and report rows of one module's parameters, and the keywords used."""
    actions: list[Action] = []
    rows: list[ReportRow] = []
    used: set[str] = set()
    specs = {p.name: p for p in view.specs}
    for spec in specs.values():
        if spec.keras_layer in RNN_LAYERS and spec.role in ("bias", "recurrent_bias"):
            if spec.role == "bias":
                plan_rnn_bias(prefix, module, spec, specs, inits, forget, version,
                               actions, rows, used)
            continue
        init = inits.get(spec.keyword)
        if init is None:
            continue
        computed = computed_by(module, spec.name)
        if computed is not None:
            raise LayoutError(
                f"{qualified(prefix, spec.name)} is recomputed by {computed}: a write would be "
                f"lost (nothing was written). Initialize first, then parametrize.")
        tensor = tensor_at(module, spec.name)
        layout = version_layout(spec, version)
        plan = init.plan(tensor, layout=layout)  # checks shape and dtype before any write
        resolved = plan[0][2] if plan[0][0] is None else tuple(r for _, _, r in plan)
        pad = getattr(module, "padding_idx", None) if spec.role == "embeddings" else None
        zero_rows = () if pad is None else (int(pad),)
        note = f"padding_idx row {pad} zeroed as torch does" if zero_rows else ""
        if layout is not spec.layout:
            note = "Keras 1: one weight per gate (W_i, U_i, ...)"
        actions.append(Fill(tensor, init, layout, plan, zero_rows,
                             qualified(prefix, spec.name)))
        rows.append(make_row(qualified(prefix, spec.name), spec, init, layout, resolved, note))
        used.add(spec.keyword)
    return actions, rows, used


def drop_tied(actions: list[Action]) -> list[Action]:
    """``actions`` without the second and later writes of a tied tensor (one Parameter shared
    by several modules): warns, or raises before any write if its owners disagree (see
    :mod:`kerasinit.modules.tied`)."""
    fills = [(i, a) for i, a in enumerate(actions) if isinstance(a, Fill)]
    owners = [Owner(a.name, a.tensor, "; ".join(r.distribution.formula() for _, _, r in a.plan))
              for _, a in fills]
    skip = {fills[j][0] for j in tied_duplicates(owners)}
    return [a for i, a in enumerate(actions) if i not in skip]


def warn_identical_fills(actions: list[Action], generator: torch.Generator | None) -> None:
    """Warn when a whole-model seed gives same-shape weights identical values."""
    if generator is None:
        warn_identical([(a.name, a.init, tuple(a.tensor.shape), a.layout)
                        for a in actions if isinstance(a, Fill) and a.tensor.numel() > 1])


def validate_actions(actions: list[Action], generator: object) -> None:
    """Every check the writes will make, for every tensor, before the first write: a failure
    leaves all tensors bit-identical and the global RNG untouched."""
    for a in actions:
        if isinstance(a, Fill):
            a.init.validate(a.tensor, layout=a.layout, generator=generator)  # type: ignore[arg-type]
            continue
        for t in (a.bias_ih, a.bias_hh):
            check_tensor(t, "RNN bias")
            if not t.dtype.is_floating_point:
                raise LayoutError(f"RNN bias: expected a floating-point tensor, got {t.dtype}.")
        if a.init is not None:
            rows = 2 if a.reset_after else 1
            probe = torch.empty((rows, a.bias_ih.shape[0]), dtype=a.bias_ih.dtype, device="meta")
            a.init.validate(probe, layout="keras")
            check_generator(generator, a.bias_ih, a.init.class_name)


def apply_actions(actions: list[Action], generator: torch.Generator | None) -> None:
    """Validate every action, then write them all."""
    validate_actions(actions, generator)
    with torch.no_grad():
        for a in actions:
            if isinstance(a, Fill):
                if not first_write(a.tensor):   # tied to a tensor written before (porting)
                    continue
                a.init.fill_planned(a.tensor, a.plan, layout=a.layout, generator=generator)
                for r in a.zero_rows:
                    if not a.tensor.is_meta:
                        a.tensor[r].zero_()
            else:
                apply_rnn_bias(a, generator)


def skipped_of(prefix: str, module: nn.Module, view: ModuleView) -> list[SkippedParam]:
    """The parameters of ``module`` no Keras weight covers, for the report."""
    return [SkippedParam(qualified(prefix, n), type(module).__name__, r)
            for n, r in view.skipped]
