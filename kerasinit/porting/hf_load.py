"""Trained keras_hub backbone weights into their ``transformers`` twin (BERT, GPT-2).

:meth:`Plan.load_weights <kerasinit.porting.plan.Plan.load_weights>` takes this path when the
torch model holds a twin (:func:`kerasinit.porting.hf.find_twin`): each twin parameter is the
stored Keras array(s) its rule in :data:`kerasinit.porting.hf.TWINS` names, moved by the same
rule ``apply`` uses (``nn.Linear``: kernel input axes -> columns, ``(D, h, d) -> (h·d, D)``;
transformers' ``Conv1D`` ``(in, out)`` as is; GPT-2 ``c_attn``: q, k, v side by side; biases
flattened), bit for bit. Every check runs before the first write; a failure writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from kerasinit.porting.assign import assign_weights, row_key
from kerasinit.porting.hf import TwinJob, plan_jobs, to_torch
from kerasinit.porting.load_report import KerasEntry, LoadReport, TorchEntry, WeightsMismatchError
from kerasinit.porting.weights_h5 import StoredWeight, WeightStore

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanView

__all__ = ["load_twin"]

_NOTES = {"linear": "Keras kernel -> nn.Linear (out, in)", "conv1d": "Conv1D (in, out) as stored",
          "flat": "flattened", "same": ""}


def load_twin(plan: PlanView, model: nn.Module, where: str, twin: str, store: WeightStore, *,
              allow_dropped: bool = False) -> LoadReport:
    """Load the stored weights into the ``transformers`` twin at ``where`` (all or nothing).

    Raises:
        WeightsMismatchError: a twin parameter without its Keras weight, a shape that differs,
            or a non-zero Keras weight without a twin parameter (unless ``allow_dropped``).
    """
    jobs, problems, used, left = plan_jobs(plan, model, where, twin)
    assigned, assign_problems = assign_weights(plan, store)
    problems += assign_problems
    missing = [f"{r.layer}/{r.weight}" for job in jobs for r in job.rows
               if row_key(r) not in assigned]
    problems += [f"{store.origin} has no stored value for Keras {m}" for m in missing
                 if not assign_problems]
    keras_entries: list[KerasEntry] = []
    by_key = {row_key(r): job.name for job in jobs for r in job.rows}
    for key, stored in assigned.items():
        if key in by_key:
            keras_entries.append(KerasEntry(key, stored.shape, "used", by_key[key]))
            continue
        keras_entries.append(_dropped(key, stored, twin, allow_dropped, problems))
    notes: dict[str, str] = {}
    if not problems:  # every value read and converted once before the first write
        for job in jobs:
            value, note = _value(job, assigned)
            if tuple(value.shape) != tuple(job.param.shape):
                problems.append(f"torch {job.name} {tuple(job.param.shape)} cannot take Keras "
                                f"{', '.join(row_key(r) for r in job.rows)}: "
                                f"{tuple(value.shape)} after the move")
            notes[job.name] = note
            del value
    written = not problems
    if written:  # then one tensor at a time: the extra memory is the largest tensor's
        with torch.no_grad():
            for job in jobs:
                job.param.copy_(_value(job, assigned)[0])
    by_name = {job.name: job for job in jobs}
    entries = []
    for name in [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]:
        found = by_name.get(name)
        if found is not None and written:
            entries.append(TorchEntry(name, "loaded", tuple(row_key(r) for r in found.rows),
                                      notes[name]))
        else:
            why = left.get(name) or ("not written (see problems)" if found is not None else
                                     f"outside the {twin} twin's Keras weights")
            entries.append(TorchEntry(name, "untouched", (), why))
    report = LoadReport(tuple(entries), tuple(keras_entries),
                        tuple(((j.rule.keras,), j.name.rsplit(".", 1)[0]) for j in jobs),
                        tuple(problems), store.origin, written)
    del used
    if problems:
        raise WeightsMismatchError(
            f"The weights in {store.origin} do not fit the {twin} twin; nothing was written:"
            "\n  - " + "\n  - ".join(problems[:20]), report)
    return report


def _value(job: TwinJob, assigned: dict[str, StoredWeight]) -> tuple[torch.Tensor, str]:
    parts = [to_torch(torch.from_numpy(np.asarray(assigned[row_key(r)].read())), r,
                      job.rule.move) for r in job.rows]
    value = torch.cat(parts, dim=job.rule.cat_dim) if len(parts) > 1 else parts[0]
    note = _NOTES[job.rule.move] if len(parts) == 1 else \
        f"{'+'.join(r.weight.split('/')[0] for r in job.rows)} side by side"
    if value.dtype != job.param.dtype:
        note += f"; {str(value.dtype)[6:]} -> {str(job.param.dtype)[6:]}"
        value = value.to(job.param.dtype)
    return value, note


def _dropped(key: str, stored: StoredWeight, twin: str, allow: bool, problems: list[str]
             ) -> KerasEntry:
    if allow:
        return KerasEntry(key, stored.shape, "dropped", "", "allowed by the caller")
    if not np.any(stored.read()):
        return KerasEntry(key, stored.shape, "dropped", "", "all zeros")
    problems.append(f"Keras {key} {stored.shape} is non-zero and has no parameter in the {twin} "
                    f"twin; pass allow_dropped=True to drop it anyway")
    return KerasEntry(key, stored.shape, "dropped", "", "non-zero, no torch tensor")
