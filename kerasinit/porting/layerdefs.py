"""What a Keras layer's weights look like to the planner: :class:`WeightDef` and :class:`LayerCtx`.

The weight families in :mod:`kerasinit.porting.layers` and :mod:`kerasinit.porting.attention`
take a :class:`LayerCtx` (config, input shapes, Keras version) and return :class:`WeightDef` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kerasinit.mappings import layers as table
from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.layers import LayerWeight
from kerasinit.mappings.versions import KerasVersion

__all__ = ["Axes", "Dim", "LayerCtx", "RefusedConfigError", "Shape", "WeightDef", "weight_def"]


class RefusedConfigError(KerasInitError):
    """A layer config the file's Keras version itself refuses (Keras 3.16: duplicate
    LayerNormalization axes, BatchNormalization momentum outside [0, 1])."""

Shape = tuple[int, ...]
Dim = int | None
Axes = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class WeightDef:
    """One Keras weight of a layer.

    Attributes:
        weight: Keras weight name inside the layer (``"kernel"``, ``"query/kernel"``).
        role: kerasinit role (``"kernel"``, ``"bias"``, ``"recurrent_kernel"``, ...).
        keyword: the Keras initializer keyword (``"kernel_initializer"``).
        identifier: the initializer as the config stores it (or the layer default).
        shape: Keras-layout shape, or None when it cannot be derived.
        einsum_axes: (input_axes, output_axes) of EinsumDense/MHA kernels.
        blocks: Keras 1 per-gate RNN weights: the weight is ``blocks`` separately initialized
            blocks along the last axis.
        fans: a fan override where old Keras computed fans on another layout.
        note: a remark shown in the plan.
    """

    weight: str
    role: str
    keyword: str
    identifier: object
    shape: Shape | None
    einsum_axes: Axes | None = None
    blocks: int = 1
    fans: tuple[float, float] | None = None
    note: str = ""


@dataclass
class LayerCtx:
    """A layer config with its input shape(s) and the Keras version of the file."""

    class_name: str
    config: Mapping[str, Any]
    version: KerasVersion
    input_shape: tuple[Dim, ...] | None = None
    extra_shapes: dict[str, tuple[Dim, ...]] = field(default_factory=dict)

    def get(self, *keys: str, default: object = None) -> Any:
        for key in keys:
            if key in self.config:
                return self.config[key]
        return default

    def init(self, default: object, *keys: str) -> object:
        value = self.get(*keys)
        return default if value is None else value

    def dim(self, axis: int) -> Dim:
        shape = self.input_shape
        if shape is None or not -len(shape) <= axis < len(shape):
            return None
        d = shape[axis]
        return int(d) if isinstance(d, int) and d >= 0 else None

    @property
    def channels_first(self) -> bool:
        fmt = self.get("data_format", "dim_ordering")
        return fmt in ("channels_first", "th")

    @property
    def in_channels(self) -> Dim:
        return self.dim(1 if self.channels_first else -1)

    @property
    def use_bias(self) -> bool:
        return bool(self.get("use_bias", "bias", default=True))

    def weight(self, role: str, shape: Shape | None, **extra: Any) -> WeightDef:
        """The layer's weight playing ``role``: name, keyword and default from the layer table,
        the initializer from the config when it sets one."""
        return weight_def(self, table.weight(self.class_name, role), shape, **extra)


def weight_def(ctx: LayerCtx, w: LayerWeight, shape: Shape | None, **extra: Any) -> WeightDef:
    """A table weight of ``ctx``'s layer with its initializer: ``Constant(config[value_key])``,
    else the config's keyword (or a legacy key), else the table's default."""
    if w.value_key is not None:
        value = ctx.get(w.value_key)
        ident = w.default if value is None else {"class_name": "Constant",
                                                 "config": {"value": value}}
    elif w.keyword is None:
        ident = w.default
    else:
        ident = ctx.init(w.default, w.keyword, *w.legacy_keys)
    return WeightDef(w.keras_name(ctx.version.major), w.role, w.keyword or "", ident, shape,
                     **extra)
