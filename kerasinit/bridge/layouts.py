"""Layouts: how a torch parameter's axes correspond to Keras's kernel layout.

Keras computes fans on its own layout ``(*receptive_field, in, out)``; torch stores
``(out, in, *receptive_field)`` for Linear, ConvNd, ConvTransposeNd and RNN weights. A layout
maps a torch shape to the Keras shape (for the fans), and maps values element by element in
both directions (for Orthogonal, Identity, arrays, STFT and the seed-faithful RNGs, which are
generated in Keras order).

=====================  =========================  ===================================
layout                 torch shape                Keras shape
=====================  =========================  ===================================
``"torch"``            ``(out, in, *k)``          ``(*k, in, out)``; rank < 2 unchanged
``"keras"``            already Keras              unchanged
``"embedding"``        ``(V, D)``                 ``(V, D)`` (fan_in = V, not torch's D)
``Depthwise(m)``       ``(in*m, 1, *k)``          ``(*k, in, m)``
``"gru"``              ``(3H, X)`` gates r,z,n    ``(X, 3H)`` gates z,r,h
``MHAProjection(h)``   ``(h*d, E_in)``            ``(E_in, h, d)``; einsum axes (0,), (1, 2)
``MHAOutput(h)``       ``(E_out, h*d)``           ``(h, d, E_out)``; einsum axes (0, 1), (2,)
``Packed(parts)``      blocks stacked on dim 0    each block by its own layout
=====================  =========================  ===================================
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import torch

from kerasinit.mappings.errors import LayoutError, format_choices, shown, suggest
from kerasinit.mappings.shapecheck import check_shape

__all__ = [
    "GRU",
    "Depthwise",
    "Embedding",
    "KerasLayout",
    "Layout",
    "LayoutLike",
    "LayoutName",
    "MHAOutput",
    "MHAProjection",
    "Packed",
    "TorchLayout",
    "mha_in_proj",
    "parse_layout",
]

Shape = tuple[int, ...]
Axes = tuple[tuple[int, ...], tuple[int, ...]]


class Layout:
    """Base class. Subclasses are frozen dataclasses (hashable, so plans can be cached)."""

    name: str = "layout"

    def __post_init__(self) -> None:
        _check_fixed_name(self)

    def keras_shape(self, shape: Shape) -> Shape:
        """The Keras kernel shape for a torch shape (raises LayoutError if it does not fit)."""
        raise NotImplementedError

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        """The same elements arranged in the Keras layout (a view where possible)."""
        raise NotImplementedError

    def to_torch(self, k: torch.Tensor, shape: Shape) -> torch.Tensor:
        """Inverse of :meth:`to_keras`: a Keras-layout tensor arranged as the torch ``shape``."""
        raise NotImplementedError

    def einsum_axes(self, shape: Shape) -> Axes | None:
        """(input_axes, output_axes) on the Keras shape for EinsumDense kernels, else None."""
        return None

    def blocks(self, shape: Shape) -> tuple[tuple[slice, Layout], ...] | None:
        """For composite layouts: (rows of torch dim 0, layout of that block); else None."""
        return None


@dataclass(frozen=True, slots=True)
class TorchLayout(Layout):
    """dim 0 = out, dim 1 = in, the rest receptive field (Linear, ConvNd, ConvTransposeNd, RNN).

    For these modules torch's layout is Keras's layout with the channel axes moved to the
    front, so fans agree. Rank-0/1 tensors (biases, norms) keep their shape: Keras's fans
    are (1, 1) and (n, n), where torch would raise.
    """

    name: str = "torch"

    def keras_shape(self, shape: Shape) -> Shape:
        if len(shape) < 2:
            return shape
        return (*shape[2:], shape[1], shape[0])

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        n = t.dim()
        return t if n < 2 else t.permute(*range(2, n), 1, 0)

    def to_torch(self, k: torch.Tensor, shape: Shape) -> torch.Tensor:
        n = k.dim()
        return k if n < 2 else k.permute(n - 1, n - 2, *range(n - 2))


@dataclass(frozen=True, slots=True)
class KerasLayout(Layout):
    """The tensor is already in Keras layout (e.g. a weight copied from Keras as is)."""

    name: str = "keras"

    def keras_shape(self, shape: Shape) -> Shape:
        return shape

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        return t

    def to_torch(self, k: torch.Tensor, shape: Shape) -> torch.Tensor:
        return k


@dataclass(frozen=True, slots=True)
class Embedding(KerasLayout):
    """``nn.Embedding.weight`` (V, D) is stored as Keras stores it: fans (V, D), not torch's (D, V)."""

    name: str = "embedding"

    def keras_shape(self, shape: Shape) -> Shape:
        return check_shape(shape, "The 'embedding' layout expects a 2-D (num_embeddings, "
                           "embedding_dim) weight.", rank=2)


@dataclass(frozen=True, slots=True)
class Depthwise(Layout):
    """Depthwise conv weight ``(in*m, 1, *k)`` (``groups = in``) <-> Keras ``(*k, in, m)``.

    Keras fans are (in·K, m·K) with K = prod(k); torch's own rule would give (K, in·m·K).
    Output channel ``c*m + j`` of torch is Keras's ``[..., c, j]``.
    """

    depth_multiplier: int = 1
    name: str = "depthwise"

    def __post_init__(self) -> None:
        _check_fixed_name(self)
        m = self.depth_multiplier
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise LayoutError(
                f"Depthwise: depth_multiplier must be an int >= 1. Received: {shown(m)}.")

    def keras_shape(self, shape: Shape) -> Shape:
        m = self.depth_multiplier
        check_shape(shape, f"The depthwise layout (depth_multiplier={m}) expects a torch weight "
                    f"(in_channels*{m}, 1, *kernel_size) of rank >= 3.", min_rank=3,
                    divisible=(0, m), dims={1: 1})
        return (*shape[2:], shape[0] // m, m)

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        m = self.depth_multiplier
        k = t.shape[2:]
        return t.reshape(t.shape[0] // m, m, *k).permute(*range(2, 2 + len(k)), 0, 1)

    def to_torch(self, k: torch.Tensor, shape: Shape) -> torch.Tensor:
        n = k.dim()
        return k.permute(n - 2, n - 1, *range(n - 2)).reshape(shape)


#: torch gate blocks (r, z, n) -> Keras gate blocks (z, r, h): Keras block j is torch block
#: ``GRU_TO_KERAS[j]``.
GRU_TO_KERAS = (1, 0, 2)


@dataclass(frozen=True, slots=True)
class GRU(Layout):
    """``nn.GRU`` ``weight_ih``/``weight_hh`` ``(3H, X)``: gate blocks (r, z, n) in torch,
    (z, r, h) in Keras ``(X, 3H)``. Fans are the whole-tensor fans (X, 3H); only the element
    correspondence differs from ``"torch"`` (it matters for seed-faithful values)."""

    name: str = "gru"

    def keras_shape(self, shape: Shape) -> Shape:
        check_shape(shape, "The 'gru' layout expects a (3*hidden, X) weight or a (3*hidden,) "
                    "bias.", rank=(1, 2), divisible=(0, 3))
        return shape if len(shape) == 1 else (shape[1], shape[0])

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        blocks = t.chunk(3, dim=0)
        out = torch.cat([blocks[i] for i in GRU_TO_KERAS], dim=0)
        return out if t.dim() == 1 else out.t()

    def to_torch(self, k: torch.Tensor, shape: Shape) -> torch.Tensor:
        rows = k if k.dim() == 1 else k.t()
        blocks = rows.chunk(3, dim=0)
        return torch.cat([blocks[i] for i in GRU_TO_KERAS], dim=0)


@dataclass(frozen=True, slots=True)
class MHAProjection(Layout):
    """A query/key/value projection ``(h*d, E_in)`` <-> Keras EinsumDense kernel ``(E_in, h, d)``.

    Keras >= 3.15 computes its fans from the einsum axes: (E_in, h·d). Keras <= 3.14 and
    tf_keras use the rank rule on (E_in, h, d): (h·E_in, d·E_in).
    """

    num_heads: int = 1
    name: str = "mha_projection"

    def __post_init__(self) -> None:
        _check_fixed_name(self)
        _check_heads(self.num_heads, "MHAProjection")

    def keras_shape(self, shape: Shape) -> Shape:
        h = self.num_heads
        check_shape(shape, f"An MHA projection weight must be 2-D (num_heads*head_dim, "
                    f"in_features) with rows divisible by num_heads={h}.", rank=2,
                    divisible=(0, h))
        return (shape[1], h, shape[0] // h)

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        return t.t().reshape(t.shape[1], self.num_heads, t.shape[0] // self.num_heads)

    def to_torch(self, k: torch.Tensor, shape: Shape) -> torch.Tensor:
        return k.reshape(shape[1], shape[0]).t()

    def einsum_axes(self, shape: Shape) -> Axes:
        return ((0,), (1, 2))


@dataclass(frozen=True, slots=True)
class MHAOutput(Layout):
    """The attention output projection ``(E_out, h*d)`` <-> Keras kernel ``(h, d, E_out)``."""

    num_heads: int = 1
    name: str = "mha_output"

    def __post_init__(self) -> None:
        _check_fixed_name(self)
        _check_heads(self.num_heads, "MHAOutput")

    def keras_shape(self, shape: Shape) -> Shape:
        h = self.num_heads
        check_shape(shape, f"An MHA output weight must be 2-D (out_features, "
                    f"num_heads*head_dim) with columns divisible by num_heads={h}.", rank=2,
                    divisible=(1, h))
        return (h, shape[1] // h, shape[0])

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        return t.t().reshape(self.num_heads, t.shape[1] // self.num_heads, t.shape[0])

    def to_torch(self, k: torch.Tensor, shape: Shape) -> torch.Tensor:
        return k.reshape(shape[1], shape[0]).t()

    def einsum_axes(self, shape: Shape) -> Axes:
        return ((0, 1), (2,))


@dataclass(frozen=True, slots=True)
class Packed(Layout):
    """Several Keras kernels stacked along torch dim 0 in equal blocks (e.g. MHA ``in_proj_weight``
    = [q; k; v]). Each block is initialized as its own Keras kernel with its own fans."""

    parts: tuple[Layout, ...] = ()
    name: str = "packed"

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 64:
            raise LayoutError(
                f"Packed: `name` must be a label of letters, digits and underscores (at most 64 "
                f"characters), e.g. 'mha_in_proj'. Received: {shown(name)}.")
        parts = self.parts
        if not isinstance(parts, tuple) or not parts or not all(
                isinstance(p, Layout) and not isinstance(p, Packed) for p in parts):
            raise LayoutError(
                f"Packed: `parts` must be a non-empty tuple of (unpacked) layout objects. "
                f"Received: {shown(parts)}."
            )

    def blocks(self, shape: Shape) -> tuple[tuple[slice, Layout], ...]:
        n = len(self.parts)
        check_shape(shape, f"A packed layout of {n} blocks needs dim 0 divisible by {n}.",
                    min_rank=1, divisible=(0, n))
        size = shape[0] // n
        return tuple((slice(i * size, (i + 1) * size), p) for i, p in enumerate(self.parts))

    def keras_shape(self, shape: Shape) -> Shape:
        raise LayoutError("A packed layout has one Keras shape per block; use blocks().")


def _check_fixed_name(layout: Layout) -> None:
    """A built-in layout's ``name`` is its identity: only its default is accepted (``GRU(5)``
    or ``Embedding("x")`` passed a value to ``name`` positionally)."""
    cls = type(layout)
    fields = getattr(cls, "__dataclass_fields__", {})
    if "name" not in fields:  # pragma: no cover - every built-in layout is a dataclass
        return
    default = fields["name"].default
    if layout.name is default or (isinstance(layout.name, str) and layout.name == default):
        return
    params = [f for f in fields if f != "name" and fields[f].init]
    takes = (f"takes only {', '.join(params)}" if params else "takes no arguments")
    example = f"{cls.__name__}({params[0]}=...)" if params else f"{cls.__name__}()"
    raise LayoutError(
        f"{cls.__name__} {takes} (its name is fixed: {default!r}); write {example}. "
        f"Received: name={shown(layout.name)}.")


def _check_heads(h: object, owner: str) -> None:
    if isinstance(h, bool) or not isinstance(h, int) or h < 1:
        raise LayoutError(f"{owner}: num_heads must be an int >= 1. Received: {shown(h)}.")


def mha_in_proj(num_heads: int) -> Packed:
    """Layout of ``nn.MultiheadAttention.in_proj_weight`` (3E, E): q, k, v projections."""
    return Packed((MHAProjection(num_heads),) * 3, name="mha_in_proj")


#: the layout names :func:`parse_layout` accepts (typos are type errors, not only runtime errors)
LayoutName = Literal["torch", "keras", "embedding", "depthwise", "gru", "linear", "conv", "rnn",
                     "lstm"]
LayoutLike = LayoutName | Layout
_NAMED: dict[str, Layout] = {
    "torch": TorchLayout(),
    "keras": KerasLayout(),
    "embedding": Embedding(),
    "depthwise": Depthwise(1),
    "gru": GRU(),
    "linear": TorchLayout(),
    "conv": TorchLayout(),
    "rnn": TorchLayout(),
    "lstm": TorchLayout(),
}


@lru_cache(maxsize=64)
def _parse_name(name: str) -> Layout:
    if name in _NAMED:
        return _NAMED[name]
    hint = suggest(name, _NAMED)
    extra = f" Did you mean {hint!r}?" if hint else ""
    raise LayoutError(
        f"Unknown layout {shown(name)}.{extra} Valid layouts: {format_choices(_NAMED)}, or a layout "
        f"object (kerasinit.layouts.Depthwise(depth_multiplier), MHAProjection(num_heads), ...)."
    )


def parse_layout(layout: LayoutLike) -> Layout:
    """A :class:`Layout` from a name or a layout object."""
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, str):
        return _parse_name(layout)
    raise LayoutError(
        f"`layout` must be a layout name ({format_choices(_NAMED)}) or a kerasinit layout object. "
        f"Received: {shown(layout)} (type {type(layout).__name__})."
    )
