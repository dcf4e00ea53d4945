"""Tied weights: one tensor reached under two names (an embedding tied to the output layer).

A torch model may share one ``Parameter`` between modules (``lm_head.weight is
wte.weight``). A Keras model has one variable there, created once with one initializer by
the layer that owns it (``ReversibleEmbedding``: the embedding). So, checked before any
write, for every group of names that reach the same tensor (same storage, offset, shape,
strides and dtype):

* every owner would draw it from the same distribution (initializer and arguments, after
  its fans): it is written once, by its first owner (module order), and a
  :class:`TiedWeightWarning` names the others. Seeds may differ (a whole-model seed gives
  each module its own): the first owner's is used, as Keras's one variable has one;
* the owners disagree (an embedding's ``U[-0.05, 0.05)`` and a Dense kernel's
  ``glorot_uniform``): a :class:`TiedWeightError` names both and their distributions, and
  nothing is written. Either value would silently contradict the other request; initialize
  the tied tensor with one initializer (the same for both keywords, or call on a submodule
  that holds one owner), or untie the weights.

Tensors that overlap only in part (a view of half of another) are not detected: they are
written as given, in order.

Example:
    >>> import torch
    >>> w = torch.nn.Parameter(torch.empty(3, 2))
    >>> owners = [Owner("emb.weight", w, "U[-0.05, 0.05)"), Owner("head.weight", w, "U[-0.05, 0.05)")]
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     tied_duplicates(owners)
    [1]
    >>> caught[0].category.__name__
    'TiedWeightWarning'
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from kerasinit.mappings.errors import LayoutError

__all__ = ["Owner", "TiedWeightError", "TiedWeightWarning", "first_write", "tensor_key",
           "tied_duplicates", "write_once"]


class TiedWeightWarning(UserWarning):
    """One tensor has several owners that agree: it was written once, by the first."""


class TiedWeightError(LayoutError):
    """One tensor has several owners that would draw it from different distributions."""


@dataclass(frozen=True)
class Owner:
    """One name under which a tensor is written, and what it would be written with.

    ``what`` is compared between owners (the distribution after the fans, as text or any
    hashable value) and shown in messages.
    """

    name: str
    tensor: torch.Tensor
    what: Hashable


def tensor_key(t: torch.Tensor) -> tuple[object, ...] | None:
    """Identity of the memory ``t`` views (None for tensors without storage, such as meta
    tensors, and for empty ones: nothing is written, and they share the null pointer)."""
    if t.is_meta or t.numel() == 0:
        return None
    try:
        ptr = t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):  # pragma: no cover - storage-less tensors
        return None
    if ptr == 0:
        return None
    return (t.device, ptr, t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)


def tied_duplicates(owners: Sequence[Owner]) -> list[int]:
    """Indices of the owners whose write must be skipped (every owner after the first of its
    tensor); warns :class:`TiedWeightWarning` per tied group, or raises
    :class:`TiedWeightError` (before anything is written) when a group disagrees."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, owner in enumerate(owners):
        key = tensor_key(owner.tensor)
        if key is not None:
            groups.setdefault(key, []).append(i)
    skip: list[int] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        first = owners[members[0]]
        others = [owners[i] for i in members[1:]]
        names = ", ".join(o.name for o in others)
        differ = [o for o in others if o.what != first.what]
        if differ:
            o = differ[0]
            raise TiedWeightError(
                f"{first.name} and {o.name} are one tied tensor (shape "
                f"{tuple(first.tensor.shape)}), but would be drawn from different "
                f"distributions: {first.what} ({first.name}) vs {o.what} ({o.name}). A Keras "
                f"model has one variable there, with one initializer. Nothing was written: "
                f"give both the same initializer, initialize a submodule that holds only one "
                f"of them, or untie the weights.")
        warnings.warn(
            f"{first.name} is tied to {names} (one tensor): written once, by {first.name} "
            f"({first.what}), as Keras creates one variable.", TiedWeightWarning, stacklevel=3)
        skip += members[1:]
    return sorted(skip)


_WRITTEN: ContextVar[set[tuple[object, ...]] | None] = ContextVar("kerasinit_written",
                                                                   default=None)


@contextmanager
def write_once() -> Iterator[None]:
    """Within this block, :func:`first_write` is False for a tensor already written."""
    token = _WRITTEN.set(set())
    try:
        yield
    finally:
        _WRITTEN.reset(token)


def first_write(t: torch.Tensor) -> bool:
    """Whether ``t`` is to be written: always outside :func:`write_once`; inside, only the
    first time its memory is seen."""
    seen = _WRITTEN.get()
    key = tensor_key(t)
    if seen is None or key is None:
        return True
    if key in seen:
        return False
    seen.add(key)
    return True
