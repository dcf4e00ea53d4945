"""What the pairing compares: nodes on both sides and their signatures (kind + key shapes).

A Keras *node* is one weight-bearing layer, or the forward and backward layers of a
``Bidirectional`` wrapper (one torch ``bidirectional=True`` RNN layer takes both). A torch
*node* is a :class:`~kerasinit.porting.matching.Unit`, or one layer of a multi-layer torch RNN.
Both sides reduce to the same signature: the Keras class family and the shapes that decide it
(kernel spatial size, input and output channels; a normalization's channel count), so a
depthwise conv equals a ``Conv2D(groups=C)``, and a conv bias that exists on one side only or a
``BatchNormalization(scale=False)`` does not change the signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kerasinit.mappings.errors import KerasInitError
from kerasinit.porting.matching import Unit, keras_family

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer

__all__ = ["KNode", "TNode", "auto_name", "keras_nodes", "keras_signature", "name_key",
           "torch_nodes"]

Sig = tuple[object, ...]
_RNN = ("LSTM", "GRU", "SimpleRNN")
_NORMS = ("BatchNormalization", "LayerNormalization", "GroupNormalization")


@dataclass(frozen=True)
class KNode:
    """Keras layer(s) that pair with one torch node, with the order they appear in the plan."""

    layers: tuple[PlanLayer, ...]
    index: int
    sig: Sig

    @property
    def path(self) -> str:
        """The first layer's path (a Bidirectional's wrapper path for a pair)."""
        if len(self.layers) > 1:
            return self.layers[0].path.rsplit("/", 1)[0]
        return self.layers[0].path

    @property
    def label(self) -> str:
        """``"conv1 (Conv2D)"``."""
        return ", ".join(f"{k.path} ({k.class_name})" for k in self.layers)

    def values(self) -> tuple[tuple[str, str, str], ...]:
        """What the layer(s) would be initialized with (equal: interchangeable for ``apply``)."""
        return tuple((r.weight, r.initializer_text, r.resolved_text)
                     for k in self.layers for r in k.rows)


@dataclass(frozen=True)
class TNode:
    """A torch unit, or layer ``sub`` of a multi-layer torch RNN unit."""

    unit: Unit
    sub: int
    sig: Sig

    @property
    def label(self) -> str:
        """``"layer1.0.conv1 (Conv2d)"``."""
        suffix = f" layer {self.sub}" if self.sub or getattr(self.unit.module, "num_layers", 1) > 1 \
            else ""
        return f"{self.unit.path or '(root)'} ({type(self.unit.module).__name__}{suffix})"


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _signature(family: str, shapes: dict[str, tuple[int, ...] | None], dirs: int) -> Sig:
    """The shared signature of a family and its role -> Keras-layout shapes."""
    if any(s is None for s in shapes.values()) or not shapes:
        return (family, "?")
    known: dict[str, tuple[int, ...]] = {k: v for k, v in shapes.items() if v is not None}
    try:
        if family.startswith(_RNN):
            return (family, known["kernel"], dirs)
        if family in _NORMS:
            return (family, _numel(next(iter(known.values()))))
        if family.startswith("DepthwiseConv"):
            k = known["depthwise_kernel"]
            return ("Conv" + family[13:], k[:-2], 1, k[-2] * k[-1])
        if family.startswith("SeparableConv"):
            dw, pw = known["depthwise_kernel"], known["pointwise_kernel"]
            return (family, dw[:-2], dw[-2], dw[-1], pw[-1])
        if family.startswith("Conv") and "Transpose" not in family and "LSTM" not in family:
            k = known["kernel"]
            return (family, k[:-2], k[-2], k[-1])
        if family == "Dense":
            k = known["kernel"]
            return (family, k[0], _numel(k[1:]))
        if family == "Embedding":
            return (family, known["embeddings"])
        if family == "MultiHeadAttention":
            return (family,)
        if family.endswith("LayerScale"):
            return ("LayerScale", _numel(next(iter(known.values()))))
    except (KeyError, IndexError):
        pass
    return (family, tuple(sorted(known.items())))


def keras_signature(layers: tuple[PlanLayer, ...]) -> Sig:
    """The signature of a Keras node.

    Example:
        >>> from kerasinit.porting import read
        >>> plan = read({"class_name": "Sequential", "keras_version": "3.15.1", "config": {
        ...     "layers": [{"class_name": "DepthwiseConv2D", "config": {"name": "dw",
        ...     "kernel_size": 3, "batch_input_shape": [None, 8, 8, 4]}}]}})
        >>> keras_signature(plan.layers)
        ('Conv2D', (3, 3), 1, 4)
    """
    layer = layers[0]
    shapes: dict[str, tuple[int, ...] | None] = {}
    for r in layer.rows:
        shapes.setdefault("bias" if r.role == "recurrent_bias" else r.role, r.keras_shape)
    family = keras_family(layer.class_name)
    if family.startswith(_RNN) or family in _NORMS:
        shapes = {k: v for k, v in shapes.items() if k in ("kernel",) or family in _NORMS}
    return _signature(family, shapes, len(layers))


def _unit_signature(unit: Unit, sub: int | None) -> Sig:
    shapes: dict[str, tuple[int, ...] | None] = {}
    dirs = 2 if getattr(unit.module, "bidirectional", False) else 1
    for p in unit.params:
        if sub is not None:
            match = re.search(r"_l(\d+)(_reverse)?$", p.name)
            if match is None or int(match.group(1)) != sub or match.group(2):
                continue
        if p.role in shapes:
            continue
        try:
            tensor = _tensor(unit, p.name)
            layout = unit.layouts.get(p.name, p.layout)
            shapes[p.role] = layout.keras_shape(tuple(tensor.shape))  # type: ignore[attr-defined]
        except (KerasInitError, AttributeError, ValueError, IndexError, TypeError):
            shapes[p.role] = None
    family = unit.kind
    if family.startswith(_RNN):
        shapes = {k: v for k, v in shapes.items() if k == "kernel"}
    return _signature(family, shapes, dirs)


def _tensor(unit: Unit, name: str) -> object:
    obj: object = unit.module
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def keras_nodes(layers: tuple[PlanLayer, ...]) -> list[KNode]:
    """One node per layer; a Bidirectional's forward and backward layers make one node."""
    nodes: list[KNode] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        group: tuple[PlanLayer, ...] = (layer,)
        if layer.wrapper.startswith("Bidirectional (forward)") and i + 1 < len(layers) and \
                layers[i + 1].wrapper.startswith("Bidirectional (backward)"):
            group = (layer, layers[i + 1])
        nodes.append(KNode(group, len(nodes), keras_signature(group)))
        i += len(group)
    return nodes


def torch_nodes(units: list[Unit]) -> list[TNode]:
    """One node per unit; a torch RNN with ``num_layers`` L gives L nodes."""
    out: list[TNode] = []
    for unit in units:
        layers = int(getattr(unit.module, "num_layers", 1)) if unit.kind.startswith(_RNN) else 1
        if unit.kind.startswith(_RNN) and hasattr(unit.module, "num_layers"):
            out += [TNode(unit, i, _unit_signature(unit, i)) for i in range(layers)]
        else:
            out.append(TNode(unit, 0, _unit_signature(unit, None)))
    return out


_AUTO = re.compile(r"^[a-z0-9_]+?(_\d+)?$")


def auto_name(path: str, class_name: str) -> bool:
    """True for a Keras auto-generated name (``conv2d_94``, ``batch_normalization``): such
    suffixes come from a per-session counter and never identify a layer.

    Example:
        >>> auto_name("conv2d_94", "Conv2D"), auto_name("gate", "Dense")
        (True, False)
    """
    name = path.rsplit("/", 1)[-1]
    snake = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", class_name).lower()
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", snake).lower()
    base = re.sub(r"_\d+$", "", name)
    return base in (snake, snake.replace("_", ""), class_name.lower()) and bool(_AUTO.match(name))


def name_key(name: str) -> str:
    """A name with separators and case removed (``"conv_1.Weight"`` -> ``"conv1weight"``).

    Example:
        >>> name_key("Block-1/conv_1"), name_key("block1.conv1")
        ('block1conv1', 'block1conv1')
    """
    return re.sub(r"[^a-z0-9]", "", name.lower())
