"""Walking a live Keras model: its layers and sublayers, their variables and build shapes.

Keras is never imported: a Keras object is recognised by its class hierarchy (a ``Layer`` or
``Operation`` class from ``keras`` or ``tf_keras``). Keras 3.15 has no public recursive walk:
models list their layers (``Model.layers``); other layers are entered through the sublayers
they track (``Layer._layers``; tf_keras: ``_flatten_layers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kerasinit.mappings.errors import KerasInitError
from kerasinit.porting.layers import FAMILIES, WRAPPERS

__all__ = ["Found", "Walker", "build_shapes", "is_keras_object", "is_model", "keras_root",
           "layer_config", "layer_weights", "rule_of", "sublayers", "var_name", "var_shape"]

_ROOTS = ("keras", "tf_keras")
_MAX_DEPTH = 64


def keras_root(cls: type) -> str | None:
    root = (getattr(cls, "__module__", "") or "").split(".")[0]
    return root if root in _ROOTS else None


def is_keras_object(obj: object) -> bool:
    """True for an instance of a Keras (3 or tf_keras) layer or model, without importing Keras.

    Example:
        >>> is_keras_object({"class_name": "Sequential"}), is_keras_object("model.keras")
        (False, False)
    """
    return any(c.__name__ in ("Layer", "Operation") and keras_root(c) for c in type(obj).__mro__)


@dataclass
class Found:
    """A layer found in the walk: a leaf kerasinit has a rule for, or own weights of another."""

    path: str
    layer: Any
    family: str | None
    wrapper: str = ""
    own: list[Any] = field(default_factory=list)
    calls: int = 1


def trusted(cls: type) -> bool:
    """A class whose name may be taken at its word: Keras's own, or keras_hub's public layers
    (a model-specific class can reuse a name: keras_hub's Gemma ``RMSNormalization`` starts
    its scale at zeros, Keras's at ones)."""
    module = getattr(cls, "__module__", "") or ""
    return keras_root(cls) is not None or module.startswith("keras_hub.src.layers.")


def rule_of(layer: object) -> str | None:
    """The rule for this layer: its class's name if it is Keras's or keras_hub's own, else the
    nearest such base class that kerasinit has a rule for."""
    for cls in type(layer).__mro__:
        if cls.__name__ in FAMILIES and trusted(cls):
            return cls.__name__
    return None


def layer_config(layer: Any) -> Mapping[str, Any] | None:
    try:
        config = layer.get_config()
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None
    return config if isinstance(config, Mapping) else None


def is_model(layer: object) -> bool:
    return any(c.__name__ in ("Model", "Functional", "Sequential") and keras_root(c)
               for c in type(layer).__mro__)


def sublayers(layer: Any) -> list[Any]:
    if type(layer).__name__ == "Bidirectional" and hasattr(layer, "forward_layer"):
        return [layer.forward_layer, layer.backward_layer]
    if is_model(layer):
        return list(layer.layers)
    tracked = getattr(layer, "_layers", None)
    if isinstance(tracked, list):
        return list(tracked)
    flatten = getattr(layer, "_flatten_layers", None)  # tf_keras
    if callable(flatten):
        return list(flatten(include_self=False, recursive=False))
    return []


def layer_weights(layer: Any) -> list[Any]:
    out: dict[int, Any] = {}
    for v in getattr(layer, "weights", None) or []:
        out.setdefault(id(v), v)
    return list(out.values())


def var_name(v: Any) -> str:
    path = getattr(v, "path", None) or getattr(v, "name", "") or ""
    return str(path).removesuffix(":0")


def var_shape(v: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tuple(v.shape))


class Walker:
    def __init__(self) -> None:
        self.found: list[Found] = []
        self.by_id: dict[int, Found] = {}
        self.seen: set[int] = set()

    def visit(self, layer: Any, prefix: str, depth: int, *, top: bool = False,
              wrapper: str = "") -> None:
        if depth > _MAX_DEPTH:
            raise KerasInitError(f"Keras model nested more than {_MAX_DEPTH} levels deep.")
        if id(layer) in self.seen:
            if id(layer) in self.by_id:
                self.by_id[id(layer)].calls += 1
            return
        self.seen.add(id(layer))
        name = str(getattr(layer, "name", "") or type(layer).__name__.lower())
        path = prefix + name
        family = None if top and is_model(layer) else rule_of(layer)
        if family is not None and layer_config(layer) is None:
            family = None  # no readable config: planned from its variables and attributes
        children = sublayers(layer)
        sub = "" if top else path + "/"
        if family in WRAPPERS:  # the wrapped layer first, then the wrapper's own weights
            for child in children:
                self.visit(child, sub, depth + 1, wrapper=str(family))
            inside = {id(v) for c in children for v in layer_weights(c)}
            record = Found(path, layer, family, wrapper,
                            [v for v in layer_weights(layer) if id(v) not in inside])
            self.found.append(record)
            self.by_id[id(layer)] = record
            return
        if family is not None:
            record = Found(path, layer, family, wrapper)
            self.found.append(record)
            self.by_id[id(layer)] = record
            return
        kind = type(layer).__name__
        inner = {"Bidirectional": "Bidirectional", "TimeDistributed": "TimeDistributed",
                 "RNN": "RNN cell"}.get(kind, "")
        for i, child in enumerate(children):
            label = inner
            if kind == "Bidirectional":
                label = f"Bidirectional ({'forward' if i == 0 else 'backward'})"
            self.visit(child, sub, depth + 1, wrapper=label)
        inside = {id(v) for c in children for v in layer_weights(c)}
        own = [v for v in layer_weights(layer) if id(v) not in inside]
        if own:
            self.found.append(Found(path, layer, None, wrapper, own))


def build_shapes(layer: Any) -> tuple[tuple[int | None, ...] | None, dict[str, Any]]:
    raw = getattr(layer, "_build_shapes_dict", None)
    if not isinstance(raw, Mapping) or not raw:
        return None, {}
    shapes = {str(k).removesuffix("_shape"): _shape_or_none(v) for k, v in raw.items()}
    extra = {k: v for k, v in shapes.items() if k in ("query", "key", "value") and v is not None}
    first = next((v for v in shapes.values() if v is not None), None)
    return (extra.get("query") or first), extra


def _shape_or_none(value: object) -> tuple[int | None, ...] | None:
    if not isinstance(value, (tuple, list)):
        return None
    dims: tuple[object, ...] = tuple(value)
    if all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in dims):
        return tuple(d if isinstance(d, int) else None for d in dims)
    return None
