"""Sharded parameters: Keras initializers on ``torch.distributed.tensor.DTensor`` (FSDP2, TP).

Three cases, chosen so that the *global* tensor is what a single-device call would produce:

* unseeded, no ``generator=``, a single elementwise distribution (uniform, normal, truncated
  normal, scalar constant): each shard is sampled in place through DTensor's own RNG tracker,
  which gives distinct, reproducible values per shard without materializing the full tensor;
* seeded (Keras semantics: the same values on every call): every rank materializes the full
  tensor from the seed and keeps its own shard (no communication); the global tensor equals the
  unsharded call bit for bit;
* everything else (Orthogonal, arrays, packed layouts, ``generator=``, faithful ``rng``
  without a seed): rank 0's full tensor is scattered (``distribute_tensor(src_data_rank=0)``),
  so the shards always form one consistent matrix (an Orthogonal matrix stays orthogonal).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from kerasinit.bridge.samplers import Plan, fill_
from kerasinit.mappings.distributions import Constant, Normal, TruncatedNormal, Uniform

__all__ = ["fill_dtensor", "is_dtensor"]


def is_dtensor(tensor: torch.Tensor) -> bool:
    """True for a ``DTensor`` (checked by type name: ``torch.distributed`` is not imported)."""
    return type(tensor).__name__ == "DTensor"


def _elementwise(plan: Plan) -> bool:
    if len(plan) != 1 or plan[0][0] is not None:
        return False
    dist = plan[0][2].distribution
    return isinstance(dist, (Uniform, Normal, TruncatedNormal)) or (
        isinstance(dist, Constant) and dist.is_scalar)


def fill_dtensor(
    tensor: Any, plan: Plan, fill_full: Callable[[torch.Tensor], torch.Tensor], *,
    seeded: bool, generator: torch.Generator | None, rng: str,
) -> torch.Tensor:
    """Fill a DTensor in place (already validated by :meth:`Initializer.__call__`).

    ``fill_full`` fills a plain tensor of the global shape the way the single-device call would.
    """
    from torch.distributed.tensor import distribute_tensor

    if rng == "torch" and generator is None and not seeded and _elementwise(plan):
        _, block_layout, resolved = plan[0]
        with torch.no_grad():
            fill_(tensor, resolved.distribution, block_layout, resolved.keras_shape, None)
        return tensor  # type: ignore[no-any-return]
    local = tensor.to_local()
    full = torch.empty(tuple(tensor.shape), dtype=tensor.dtype, device=local.device)
    fill_full(full)
    same_everywhere = seeded and generator is None
    if "src_data_rank" in inspect.signature(distribute_tensor).parameters:  # newer torch (not 2.5)
        shards = distribute_tensor(full, tensor.device_mesh, tensor.placements,
                                   src_data_rank=None if same_everywhere else 0)
    else:  # torch 2.5/2.6 always scatter from rank 0: the same global tensor, one more message
        shards = distribute_tensor(full, tensor.device_mesh, tensor.placements)
    with torch.no_grad():
        local.copy_(shards.to_local())
    return tensor  # type: ignore[no-any-return]
