"""Torch units (modules with a Keras view) and the kind/shape compatibility check pairing uses.

A torch *unit* is a module :func:`~kerasinit.modules.apply.module_params` knows (its claimed
children, such as ``MultiheadAttention.out_proj``, are not units of their own), or a plain
container with ``.depthwise`` and ``.pointwise`` conv children (a Keras ``SeparableConv``).
A torch RNN with ``num_layers`` L and D directions takes L·D consecutive Keras layers
(``Bidirectional`` gives a forward and a backward layer).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torch import nn

from kerasinit.bridge.layouts import Layout, TorchLayout
from kerasinit.modules.params import claimed_children, module_params, separable_specs

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer

__all__ = ["Pair", "Unit", "keras_family", "torch_units"]


@dataclass(frozen=True)
class Unit:
    """A torch module with a Keras view.

    Attributes:
        path: module path in the model (``""`` for the root).
        module: the module.
        params: its ParamSpecs (names may reach into claimed children: ``"out_proj.weight"``).
        kind: the Keras layer class it plays (``"Dense"``, ``"SeparableConv2D"``, ...).
        consumes: how many consecutive Keras layers it takes (RNN layers × directions).
        direct: fill every weight directly (no ``initialize`` keyword exists for the unit).
        layouts: per-parameter layout overrides (filled directly).
        names: qualified torch names where they are not ``path.name`` (fused separable convs).
    """

    path: str
    module: nn.Module
    params: tuple[Any, ...]
    kind: str
    consumes: int = 1
    direct: bool = False
    layouts: dict[str, Layout] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def qual(self, name: str) -> str:
        """The qualified torch name of parameter ``name`` (``"features.3.weight"``)."""
        if name in self.names:
            return self.names[name]
        return f"{self.path}.{name}" if self.path else name


@dataclass(frozen=True)
class Pair:
    """Keras layer(s) paired with a torch unit."""

    keras: tuple[PlanLayer, ...]
    unit: Unit


_ALIASES = {"EinsumDense": "Dense", "TimeDistributedDense": "Dense", "TernaryDense": "Dense",
            "Deconvolution2D": "Conv2DTranspose", "SeparableConvolution2D": "SeparableConv2D"}


def keras_family(class_name: str) -> str:
    """The torch-side kind a Keras class corresponds to (``"Convolution2D"`` -> ``"Conv2D"``).

    Example:
        >>> keras_family("AtrousConvolution2D"), keras_family("LSTMCell"), keras_family("CuDNNGRU")
        ('Conv2D', 'LSTM', 'GRU')
    """
    name = _ALIASES.get(class_name, class_name)
    name = name.removeprefix("CuDNN").removesuffix("Cell")
    for old in ("AtrousConvolution", "Convolution"):
        if name.startswith(old):
            name = "Conv" + name[len(old):]
    return name


def _separable(module: nn.Module) -> Unit | None:
    dw, pw = getattr(module, "depthwise", None), getattr(module, "pointwise", None)
    if not (isinstance(dw, nn.modules.conv._ConvNd) and isinstance(pw, nn.modules.conv._ConvNd)):
        return None
    n = len(dw.kernel_size)
    layer = f"SeparableConv{n}D"
    m = max(1, dw.out_channels // max(1, dw.in_channels))
    params = separable_specs(n, m, pointwise_bias=pw.bias is not None,
                             depthwise_bias=dw.bias is not None)
    return Unit("", module, tuple(params), layer, direct=True)


def _fuse_separable(dw: Unit, pw: Unit) -> Unit | None:
    """A depthwise conv unit followed by a 1x1 conv unit, as one Keras SeparableConv."""
    if not (dw.kind.startswith("DepthwiseConv") and pw.kind == "Conv" + dw.kind[13:]):
        return None
    if any(k != 1 for k in getattr(pw.module, "kernel_size", (0,))):
        return None
    holder = nn.Module()
    holder.depthwise = dw.module
    holder.pointwise = pw.module
    fused = _separable(holder)
    if fused is None:
        return None
    names = {p.name: (dw if p.name.startswith("depthwise") else pw).qual(p.name.split(".", 1)[1])
             for p in fused.params}
    return dataclasses.replace(fused, path=f"{dw.path}+{pw.path}", names=names)


def torch_units(model: nn.Module) -> list[Unit]:
    """The torch modules with a Keras view, in ``named_modules()`` order."""
    units: list[Unit] = []
    claimed: list[str] = []
    for path, module in model.named_modules():
        if any(path == c or path.startswith(c + ".") for c in claimed):
            continue
        params = module_params(module)
        if not params:
            sep = _separable(module)
            if sep is not None:
                units.append(dataclasses.replace(sep, path=path))
                claimed += [f"{path}.depthwise" if path else "depthwise",
                            f"{path}.pointwise" if path else "pointwise"]
            continue
        kind = params[0].keras_layer
        consumes = 1
        if isinstance(module, nn.RNNBase):
            consumes = module.num_layers * (2 if module.bidirectional else 1)
        units.append(Unit(path, module, tuple(params), kind, consumes))
        claimed += [f"{path}.{c}" if path else c for c in claimed_children(module)]
    return units


def _compatible(layers: tuple[PlanLayer, ...], unit: Unit) -> tuple[str | None, Unit]:
    """(problem or None, the unit as used for this pair)."""
    families = {keras_family(layer.class_name) for layer in layers}
    if families == {unit.kind}:
        return None, unit
    layer = layers[0]
    fam = keras_family(layer.class_name)
    groups = layer.options.get("groups")
    if (len(layers) == 1 and unit.kind.startswith("DepthwiseConv") and fam.startswith("Conv")
            and fam[4:6] == unit.kind[13:15] and groups == getattr(unit.module, "groups", None)):
        params = tuple(dataclasses.replace(p, role="kernel", keyword="kernel_initializer",
                                           layout=TorchLayout(), keras_layer=fam)
                       if p.role == "depthwise_kernel" else p for p in unit.params)
        return None, dataclasses.replace(unit, params=params, kind=fam,
                                         layouts={"weight": TorchLayout()})
    names = ", ".join(f"{k.path} ({k.class_name})" for k in layers)
    return (f"kind mismatch: Keras {names} vs torch {unit.path or '(root)'} "
            f"({type(unit.module).__name__}, plays Keras {unit.kind})"), unit
