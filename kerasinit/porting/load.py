"""``plan.load_weights(torch_model, source)``: trained Keras values into the paired torch tensors.

The pairing is the one :meth:`Plan.apply <kerasinit.porting.plan.Plan.apply>` uses; every torch
tensor's value is the stored Keras array moved by the tensor's layout (the same layouts that
give the fan rules, :mod:`kerasinit.bridge.layouts`): ``kernel.T`` for Linear, the conv
permutation ``(out, in, *k)`` for Conv/ConvTranspose (no flip), ``Depthwise(m)``, GRU gate blocks
Keras z, r, h -> torch r, z, n (a ``reset_after`` bias ``(2, 3H)`` gives ``bias_ih`` and
``bias_hh`` row by row; other RNN biases go to ``bias_ih`` with ``bias_hh`` zero; LSTM's gate
order i, f, c, o is torch's), MultiHeadAttention's einsum kernels packed into
``in_proj_weight``, norm weights and BatchNorm moving statistics as they are. Values are copied
exactly; the dtype changes only when the torch tensor's dtype differs (reported).

A Keras bias with no torch tensor (``Conv2D(use_bias=True)`` ported to ``bias=False``) whose
layer feeds a BatchNormalization and nothing else (the Keras graph's inbound nodes, not the
config's layer order: ResNet50 lists ``_0_conv`` before ``_3_conv`` but feeds ``_0_bn``) is
folded into that BatchNorm:
``BN(conv(x) + b)`` with moving mean ``m`` is ``BN(conv(x))`` with running mean ``m - b`` (exact
in eval mode). Any other stored weight without a torch tensor is an error when non-zero, unless
``allow_dropped=True``. Everything is checked before the first write; a failure writes nothing.
The values go in one tensor at a time (:mod:`kerasinit.porting.load_stream`): every stored array
is read and converted once without writing, then read, converted and copied in tensor by tensor,
so the extra memory is bounded by the largest tensor, not the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from kerasinit.bridge.layouts import GRU, Layout
from kerasinit.mappings.errors import KerasInitError
from kerasinit.modules.rnn import tensor_at
from kerasinit.porting.apply import _keras_layer_for, _rows_for
from kerasinit.porting.assign import assign_weights, row_key
from kerasinit.porting.hf import find_twin
from kerasinit.porting.hf_load import load_twin
from kerasinit.porting.load_report import KerasEntry, LoadReport, TorchEntry, WeightsMismatchError
from kerasinit.porting.load_stream import Write, stream
from kerasinit.porting.matching import Pair, Unit, torch_units
from kerasinit.porting.pairing import pair_lists
from kerasinit.porting.weights_h5 import StoredWeight, open_weights

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanRow, PlanView

__all__ = ["load_weights"]

_RNN_KINDS = ("SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell")


@dataclass
class _Job:
    """Checked work: torch tensor -> how to compute its value from the stored arrays."""

    writes: list[Write] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)  # Keras row key -> torch name
    problems: list[str] = field(default_factory=list)
    pairs: list[tuple[tuple[str, ...], str]] = field(default_factory=list)


def _rnn_bias(pair: Pair, role: str, row: PlanRow, shape: tuple[int, ...]
              ) -> tuple[Callable[[np.ndarray], torch.Tensor], str]:
    gru = pair.unit.kind.startswith("GRU")
    two_rows = row.keras_shape is not None and len(row.keras_shape) == 2
    if gru and two_rows:
        index = 1 if role == "recurrent_bias" else 0
        return (lambda a: GRU().to_torch(torch.from_numpy(a[index]), shape),
                f"row {index} of Keras's (2, 3H) bias, gates z,r,h -> r,z,n")
    if role == "recurrent_bias":
        return (lambda a: torch.zeros(shape, dtype=torch.from_numpy(a).dtype),
                "zero: Keras has one bias, kept in bias_ih")
    if gru:
        return (lambda a: GRU().to_torch(torch.from_numpy(a), shape),
                "reset_after=False bias, gates z,r,h -> r,z,n (torch's GRU differs: approximate)")
    return lambda a: torch.from_numpy(a), "Keras bias"


def _converter(pair: Pair, name: str, role: str, layout: Layout, rows: list[PlanRow],
               shape: tuple[int, ...]) -> tuple[Callable[[list[np.ndarray]], torch.Tensor], str]:
    """A function (stored arrays of ``rows``) -> the torch value, and a note."""
    blocks = layout.blocks(shape)
    if blocks is not None:
        def packed(arrays: list[np.ndarray]) -> torch.Tensor:
            return torch.cat([lay.to_torch(torch.from_numpy(a), (sl.stop - sl.start, *shape[1:]))
                              for (sl, lay), a in zip(blocks, arrays, strict=True)])
        return packed, f"{len(blocks)} Keras weights packed along dim 0"
    if role in ("bias", "recurrent_bias") and pair.unit.kind in _RNN_KINDS:
        fn, note = _rnn_bias(pair, role, rows[0], shape)
        return lambda arrays: fn(arrays[0]), note
    if role == "alpha":
        return lambda arrays: torch.from_numpy(arrays[0]).reshape(shape), "reshaped"
    if pair.unit.kind == "MultiHeadAttention" and pair.unit.names and len(rows) == 1:
        return _einsum_to_linear(layout, shape)
    note = {"torch": "transposed to torch layout", "gru": "gates z,r,h -> r,z,n, transposed",
            "depthwise": "depthwise (*k, in, m) -> (in*m, 1, *k)"}.get(layout.name, "")
    if layout.name == "torch" and len(shape) < 2:
        note = ""
    return lambda arrays: layout.to_torch(torch.from_numpy(arrays[0]), shape), note


def _einsum_to_linear(layout: Layout, shape: tuple[int, ...]
                      ) -> tuple[Callable[[list[np.ndarray]], torch.Tensor], str]:
    """A MultiHeadAttention projection on its own Linear: the einsum kernel ``(D, h, d)`` /
    ``(h, d, D)`` flattened to ``(in, out)`` then transposed, the bias ``(h, d)`` flattened."""
    def convert(arrays: list[np.ndarray]) -> torch.Tensor:
        a = arrays[0]
        if len(shape) == 2 and a.ndim != 2:
            a = a.reshape(shape[1], shape[0])
        elif len(shape) == 1:
            a = a.reshape(shape)
        return layout.to_torch(torch.from_numpy(a), shape)
    note = ("einsum kernel flattened to (in, out), transposed" if len(shape) == 2
            else "einsum bias flattened")
    return convert, note


def _implicit(role: str, layer: PlanLayer) -> tuple[float, str] | None:
    if layer.class_name in ("BatchNormalization", "LayerNormalization", "GroupNormalization"):
        if role == "gamma":
            return 1.0, f"Keras {layer.class_name}(scale=False): no gamma, fixed at 1"
        if role == "beta":
            return 0.0, f"Keras {layer.class_name}(center=False): no beta, fixed at 0"
    return None


def _constant(shape: tuple[int, ...], value: float
              ) -> Callable[[dict[str, np.ndarray]], torch.Tensor]:
    return lambda _arrays: torch.full(shape, value)


def _gather(convert: Callable[[list[np.ndarray]], torch.Tensor], keys: tuple[str, ...]
            ) -> Callable[[dict[str, np.ndarray]], torch.Tensor]:
    return lambda arrays: convert([arrays[k] for k in keys])


def _plan_pair(pair: Pair, job: _Job, assigned: dict[str, StoredWeight]) -> None:
    unit = pair.unit
    job.pairs.append((tuple(k.path for k in pair.keras), unit.path))
    for p in unit.params:
        torch_name = unit.qual(p.name)
        layer = _keras_layer_for(pair, p.name)
        rows = _rows_for(layer, p.name, p.role)
        tensor = tensor_at(unit.module, p.name)
        shape = tuple(tensor.shape)
        if not rows:
            implicit = _implicit(p.role, layer)
            if implicit is None:
                job.problems.append(f"torch {torch_name} ({unit.kind} {p.role}) has no Keras "
                                    f"weight in {layer.path} ({layer.class_name})")
                continue
            value, note = implicit
            job.writes.append((torch_name, tensor, _constant(shape, value), (), note))
            continue
        keys = tuple(row_key(r) for r in rows)
        if any(k not in assigned for k in keys):
            continue  # already a problem from assign_weights
        layout = unit.layouts.get(p.name, p.layout)
        try:
            convert, note = _converter(pair, p.name, p.role, layout, rows, shape)
            probe = convert([np.zeros(assigned[k].shape, dtype=np.float32) for k in keys])
        except (KerasInitError, RuntimeError, ValueError) as exc:
            job.problems.append(f"torch {torch_name} {shape} cannot take Keras "
                                f"{', '.join(keys)} "
                                f"{', '.join(str(assigned[k].shape) for k in keys)}: {exc}")
            continue
        if tuple(probe.shape) != shape:
            job.problems.append(
                f"shape mismatch: Keras {', '.join(keys)} "
                f"{', '.join(str(assigned[k].shape) for k in keys)} gives {tuple(probe.shape)} "
                f"in torch layout; torch {torch_name} is {shape}")
            continue
        job.writes.append((torch_name, tensor, _gather(convert, keys), keys, note))
        for k in keys:
            job.used.setdefault(k, torch_name)


def _next_batchnorm(plan: PlanView, layer: str) -> str | None:
    """The BatchNormalization that takes ``layer``'s output, and is its only consumer, in the
    Keras graph (inbound nodes); the next layer in config order only when the graph does not
    list ``layer``."""
    graph = plan.graph
    if any(g.path == layer for g in graph):
        consumers = [g for g in graph if layer in g.inbound]
        if len(consumers) == 1 and consumers[0].class_name == "BatchNormalization" \
                and tuple(consumers[0].inbound) == (layer,):
            return consumers[0].path
        return None
    index = next(i for i, k in enumerate(plan.layers) if k.path == layer)
    if index + 1 < len(plan.layers) and plan.layers[index + 1].class_name == "BatchNormalization":
        return plan.layers[index + 1].path
    return None


def _fold_target(plan: PlanView, row: PlanRow, pairs: list[Pair]) -> tuple[str, torch.Tensor] | None:
    """The running mean of the BatchNorm that consumes ``row``'s layer, if any."""
    if row.role != "bias":
        return None
    bn = _next_batchnorm(plan, row.layer)
    if bn is None:
        return None
    for pair in pairs:
        if any(k.path == bn for k in pair.keras):
            mean = getattr(pair.unit.module, "running_mean", None)
            if isinstance(mean, torch.Tensor):
                return pair.unit.qual("running_mean"), mean
    return None


def _torch_tensors(model: nn.Module) -> list[str]:
    names = [n for n, _ in model.named_parameters()]
    return names + [n for n, _ in model.named_buffers()]


def _untouched_reason(name: str, units: dict[str, Unit], unmatched: set[str]) -> str:
    if name.endswith("num_batches_tracked"):
        return "BatchNorm step counter: not a Keras weight, left as is"
    owner = name.rsplit(".", 1)[0] if "." in name else ""
    if owner in unmatched:
        return f"its module ({units[owner].kind}) has no Keras layer"
    return "no Keras counterpart"


def load_weights(plan: PlanView, model: nn.Module, source: object, *,
                 mapping: dict[str, str] | None = None,
                 allow_dropped: bool = False) -> LoadReport:
    """See :meth:`kerasinit.porting.plan.Plan.load_weights`."""
    if not isinstance(model, nn.Module):
        raise KerasInitError(f"load_weights needs a torch.nn.Module. Received "
                             f"{type(model).__name__}.")
    twin = find_twin(plan, model) if mapping is None else None
    if twin is not None:  # a keras_hub backbone into its transformers twin: by the name table
        with open_weights(source) as store:
            return load_twin(plan, model, *twin, store, allow_dropped=allow_dropped)
    units = torch_units(model)
    pairs, unmatched_keras, unmatched_units, problems = pair_lists(plan, model, mapping)
    with open_weights(source) as store:
        state: dict[str, str] = {}
        assigned, assign_problems = assign_weights(plan, store, state)
        problems += assign_problems
        job = _Job()
        for pair in pairs:
            _plan_pair(pair, job, assigned)
        problems += job.problems
        keras_entries, folds = _keras_side(plan, pairs, assigned, job, allow_dropped, problems)
        keras_entries += [KerasEntry(key, (), "dropped", "", f"{cls} state (preprocessing in the "
                                     f"Keras model): the torch model takes its output")
                          for key, cls in state.items()]
        written = False
        if not problems:  # read and convert everything once, then write tensor by tensor
            notes = stream(job.writes, assigned, folds, write=False)
            stream(job.writes, assigned, folds, write=True)
            written = True
    loaded_notes = {w[0]: (w[3], w[4]) for w in job.writes}
    if written:
        loaded_notes = {n: (k, notes.get(n, note)) for n, (k, note) in loaded_notes.items()}
    unit_map = {u.path: u for u in units}
    unmatched = {u.path for u in unmatched_units}
    entries = []
    for name in _torch_tensors(model):
        if name in loaded_notes and written:
            keras, note = loaded_notes[name]
            entries.append(TorchEntry(name, "loaded", keras, note))
        else:
            entries.append(TorchEntry(name, "untouched", (),
                                      "not written (see problems)" if name in loaded_notes
                                      else _untouched_reason(name, unit_map, unmatched)))
    report = LoadReport(tuple(entries), tuple(keras_entries), tuple(job.pairs), tuple(problems),
                        store.origin, written)
    if problems:
        raise WeightsMismatchError(
            f"The weights in {store.origin} do not fit the torch model; nothing was written:\n  - "
            + "\n  - ".join(problems[:20]) + (f"\n  ... {len(problems) - 20} more (see "
                                               f".report)" if len(problems) > 20 else ""), report)
    del unmatched_keras
    return report


def _keras_side(plan: PlanView, pairs: list[Pair], assigned: dict[str, StoredWeight], job: _Job,
                allow_dropped: bool, problems: list[str]
                ) -> tuple[list[KerasEntry], dict[str, list[str]]]:
    entries: list[KerasEntry] = []
    folds: dict[str, list[str]] = {}  # torch running_mean name -> folded Keras bias keys
    for row in (r for layer in plan.layers for r in layer.rows):
        key = row_key(row)
        stored = assigned.get(key)
        if stored is None:
            continue
        if key in job.used:
            entries.append(KerasEntry(key, stored.shape, "used", job.used[key]))
            continue
        target = _fold_target(plan, row, pairs)
        if target is not None and tuple(target[1].shape) == stored.shape:
            folds.setdefault(target[0], []).append(key)
            entries.append(KerasEntry(key, stored.shape, "folded", target[0],
                                      "bias before a BatchNorm: running_mean = moving_mean - bias"))
            continue
        if allow_dropped:
            entries.append(KerasEntry(key, stored.shape, "dropped", "", "allowed by the caller"))
            continue
        values = stored.read() if stored.shape and int(np.prod(stored.shape)) <= 1 << 24 else None
        if values is not None and not np.any(values):
            entries.append(KerasEntry(key, stored.shape, "dropped", "", "all zeros"))
            continue
        entries.append(KerasEntry(key, stored.shape, "dropped", "", "non-zero, no torch tensor"))
        problems.append(f"Keras {key} {stored.shape} is non-zero and has no torch tensor (a bias "
                        f"on a torch module built with bias=False?); pass allow_dropped=True to "
                        f"drop it anyway")
    return entries, folds
