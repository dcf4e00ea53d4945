"""Checks, plans and the torch-RNG fill behind :class:`~kerasinit.bridge.initializer.Initializer`.

The argument checks an ``Initializer`` call makes before touching anything (rng, layout,
shape, dtype, the needs of a seed-faithful ``rng``), the cached per-shape fill plan (one
Keras kernel block per packed part), and the ``rng="torch"`` fill. The seed-faithful fill is
:func:`kerasinit.bridge.faithful.fill_faithful`.

Example:
    >>> check_rng(None), check_shape([3, 4])
    ('torch', (3, 4))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import torch

from kerasinit.bridge.faithful import check_faithful_version, check_torch_seed
from kerasinit.bridge.layouts import Layout, parse_layout
from kerasinit.bridge.rng.keras_jax import version_of
from kerasinit.bridge.samplers import Plan, fill_
from kerasinit.mappings.distributions import Constant
from kerasinit.mappings.errors import InitializerArgumentError, LayoutError, format_choices, shown
from kerasinit.mappings.resolve import Resolved, resolve
from kerasinit.mappings.specs import Spec
from kerasinit.mappings.versions import KerasVersion

__all__ = [
    "RNGS", "RngName", "check_dtype", "check_faithful_call", "check_layout", "check_rng",
    "check_shape", "fill_torch", "mix_seed", "plan_blocks",
]

RngName = Literal["torch", "tensorflow", "jax", "jax-0.4.38", "keras-torch"]
RNGS: tuple[RngName, ...] = ("jax", "jax-0.4.38", "keras-torch", "tensorflow", "torch")
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_SEED_MIX = 0x9E3779B97F4A7C15


def check_faithful_call(spec: Spec, keras_version: KerasVersion, rng: str,
                        generator: object) -> None:
    """What a seed-faithful call needs, checked before any draw."""
    if generator is not None:
        raise InitializerArgumentError(
            f"rng={rng!r} reproduces Keras's own stream from the seed; it cannot use "
            f"generator=. Drop generator= or use rng='torch'."
        )
    if getattr(spec, "seed", None) is None and spec.is_random:
        raise InitializerArgumentError(
            f"rng={rng!r} needs a seeded initializer; {spec.class_name} has seed=None."
        )
    check_faithful_version(rng, keras_version)
    seed = getattr(spec, "seed", None)
    if rng == "keras-torch" and seed is not None:
        check_torch_seed(seed, seed_generator=getattr(spec, "advancing_seed", False),
                         keras_version=keras_version)


def check_layout(layout: object) -> Layout:
    """A parsed, hashable layout (plans are cached by it)."""
    parsed = parse_layout(layout)  # type: ignore[arg-type]
    try:
        hash(parsed)
    except TypeError:
        raise LayoutError(
            f"A layout object must be hashable (a frozen dataclass, like kerasinit's layouts). "
            f"Received: {shown(layout)}."
        ) from None
    return parsed


def check_rng(rng: object) -> RngName:
    """A valid ``rng`` name (None means ``"torch"``)."""
    if rng is None:
        return "torch"
    if isinstance(rng, str) and rng.startswith("jax") and rng not in RNGS:
        version_of(rng)  # raises, naming the supported JAX versions
    if not isinstance(rng, str) or rng not in RNGS:
        raise InitializerArgumentError(
            f"Unknown rng {shown(rng)}. Valid: {format_choices(RNGS)} ('torch' samples the Keras "
            f"distribution with torch's generator; the others reproduce Keras's values)."
        )
    return rng  # type: ignore[return-value]


def mix_seed(seed: int, index: int) -> int:
    return (seed + index * _SEED_MIX) % (1 << 64)


def check_shape(shape: object) -> tuple[int, ...]:
    """A shape of non-negative ints (``torch.Size``, tuple, list; NumPy ints pass; floats such
    as 3.5 and bools are refused rather than truncated)."""
    ok = isinstance(shape, (Sequence, torch.Size)) and not isinstance(shape, (str, bytes))
    items: list[object] = list(shape) if isinstance(shape, Sequence) and ok else []
    if not ok or len(items) > 64 or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0 for d in items):
        raise LayoutError(
            f"`shape` must be a sequence of at most 64 non-negative ints. Received: "
            f"{shown(shape)}."
        )
    return tuple(int(d) for d in items)  # type: ignore[call-overload]


def check_dtype(tensor: torch.Tensor, plan: Plan, class_name: str) -> None:
    """Floating tensors for every initializer; integer/bool ones for constants only."""
    if tensor.dtype in _FLOAT_DTYPES:
        return
    constant = all(isinstance(r.distribution, Constant) for _, _, r in plan)
    if constant and not tensor.dtype.is_complex:
        return
    raise LayoutError(
        f"{class_name} samples floating-point values; the tensor has dtype {tensor.dtype}. "
        f"Supported dtypes: torch.float16, torch.bfloat16, torch.float32, torch.float64 "
        f"(integer and bool tensors only for zeros/ones/constant)."
    )


@lru_cache(maxsize=8192)
def plan_blocks(
    spec: Spec,
    version: KerasVersion,
    layout: Layout,
    shape: tuple[int, ...],
    fans: tuple[float, float] | None,
) -> Plan:
    """One ``(rows, layout, Resolved)`` per kernel block of a torch ``shape`` (cached)."""
    blocks = layout.blocks(shape)
    if blocks is None:
        return ((None, layout, _resolve_block(spec, version, layout, shape, fans)),)
    out = []
    for rows, block_layout in blocks:
        block_shape = (rows.stop - rows.start, *shape[1:])
        out.append((rows, block_layout, _resolve_block(spec, version, block_layout, block_shape,
                                                       fans)))
    return tuple(out)


def _resolve_block(
    spec: Spec, version: KerasVersion, layout: Layout, shape: tuple[int, ...],
    fans: tuple[float, float] | None,
) -> Resolved:
    keras_shape = layout.keras_shape(shape)
    if math.prod(keras_shape) != math.prod(shape):  # pragma: no cover - layout bug guard
        raise LayoutError(f"layout {layout.name} maps {shape} to {keras_shape}")
    return resolve(spec, keras_shape, version, fans=fans, einsum_axes=layout.einsum_axes(shape))


def fill_torch(
    tensor: torch.Tensor, plan: Plan, *, generator: torch.Generator | None = None,
    seed: int | None = None, call_index: int = 0,
) -> torch.Tensor:
    """The ``rng="torch"`` fill of a checked plan: from ``generator`` (or torch's global RNG),
    or, with ``seed``, from a fresh generator per block (Keras clones a seeded initializer per
    sub-kernel, so each block restarts) seeded with :func:`mix_seed` of the seed and the
    ``SeedGenerator`` draw ``call_index``."""
    with torch.no_grad():
        for rows, block_layout, resolved in plan:
            target = tensor if rows is None else tensor[rows]
            g = generator
            if seed is not None:
                g = torch.Generator(device=tensor.device).manual_seed(mix_seed(seed, call_index))
            fill_(target, resolved.distribution, block_layout, resolved.keras_shape, g)
    return tensor
