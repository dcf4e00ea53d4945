"""Stored Keras arrays into torch tensors one at a time, so that loading needs no more extra
memory than the largest tensor (its stored array and its torch-layout copy), not a copy of the
whole model.

:func:`stream` runs twice: first without writing, which reads and converts every stored array
(a truncated or corrupted dataset fails here, before anything is written), then writing, each
tensor read again, converted, copied in and dropped. The file stays open in between, so the
second pass reads what the first checked.

Example:
    >>> import numpy as np, torch
    >>> class Stored:
    ...     def read(self):
    ...         return np.ones((2, 3), dtype=np.float32)
    >>> target = torch.zeros(3, 2)
    >>> writes = [("w", target, lambda a: torch.from_numpy(a["k"]).T, ("k",), "transposed")]
    >>> stream(writes, {"k": Stored()}, {}, write=False), float(target.sum())
    ({'w': 'transposed'}, 0.0)
    >>> _ = stream(writes, {"k": Stored()}, {}, write=True); float(target.sum())
    6.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch

__all__ = ["Write", "stream"]


class _Readable(Protocol):
    def read(self) -> np.ndarray: ...


#: (torch name, torch tensor, value from the stored arrays by key, keys, note)
Write = tuple[str, torch.Tensor, Callable[[dict[str, np.ndarray]], torch.Tensor],
              tuple[str, ...], str]


def stream(writes: Sequence[Write], stored: Mapping[str, Any], folds: Mapping[str, list[str]],
           *, write: bool) -> dict[str, str]:
    """Compute (and with ``write=True`` copy in) every tensor's value, one tensor at a time.

    Args:
        writes: the checked work.
        stored: Keras weight key -> an object whose ``read()`` gives the array.
        folds: torch running-mean name -> Keras bias keys subtracted from it.
        write: copy the values into the tensors.

    Returns:
        torch name -> note (the layout move, a folded bias, a dtype change).
    """
    notes: dict[str, str] = {}
    for name, tensor, compute, keys, note in writes:
        arrays = {k: _read(stored[k]) for k in (*keys, *folds.get(name, ()))}
        value = compute(arrays)
        if name in folds:
            for key in folds[name]:
                value = value - torch.from_numpy(arrays[key]).to(value.dtype)
            note = (note + "; " if note else "") + "minus the folded bias"
        if value.dtype != tensor.dtype:
            note = (note + "; " if note else "") + (
                f"{str(value.dtype).removeprefix('torch.')} -> "
                f"{str(tensor.dtype).removeprefix('torch.')}")
            value = value.to(tensor.dtype)
        if write:
            with torch.no_grad():
                tensor.copy_(value)
        notes[name] = note
        del arrays, value
    return notes


def _read(item: _Readable) -> np.ndarray:
    return item.read()
