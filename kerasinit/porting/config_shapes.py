"""What a Keras model config says about shapes and graph edges, read defensively.

The readers :mod:`kerasinit.porting.walk` uses: shapes written in a config (``batch_shape``,
``build_config``, Keras 3 ``__keras_tensor__`` arguments, Keras 1 ``input_dim``), the layer
names an inbound node refers to, and shape propagation / keras_hub expansion that returns None
instead of raising on a config whose values make no sense.

Example:
    >>> as_shape([None, 4]), declared_input("Dense", {"input_dim": 3}, weak=True)
    ((None, 4), (None, 3))
    >>> names: list[str] = []
    >>> history([["dense", 0, 0, {}]], names); names
    ['dense']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kerasinit.porting import hub
from kerasinit.porting.shapes import Shape, output_shape

__all__ = ["as_shape", "declared_input", "history", "safe_expand", "safe_output_shape",
           "shapes_list", "tensor_shapes"]


def as_shape(value: object) -> Shape | None:
    if isinstance(value, (list, tuple)) and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value):
        return tuple(value)
    return None


def shapes_list(value: object) -> list[Shape | None] | None:
    """A build_config input_shape: one shape or a list of shapes."""
    one = as_shape(value)
    if one is not None:
        return [one]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
        return [as_shape(v) for v in value]
    if isinstance(value, Mapping):  # {"query_shape": ..., ...}
        return [as_shape(v) for v in value.values()]
    return None


def tensor_shapes(obj: object, out: list[Shape | None]) -> None:
    """Shapes of the ``__keras_tensor__`` entries of Keras 3 inbound-node args, in order."""
    if isinstance(obj, Mapping):
        if obj.get("class_name") == "__keras_tensor__":
            cfg = obj.get("config") or {}
            out.append(as_shape(cfg.get("shape")))
            return
        for v in obj.values():
            tensor_shapes(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            tensor_shapes(v, out)


def declared_input(cls: str, cfg: Mapping[str, Any], weak: bool) -> Shape | None:
    """The input shape a layer config declares: ``batch_shape``/``batch_input_shape``, or (only
    when ``weak`` is allowed, i.e. nothing better is known) Keras 1's ``input_dim``."""
    for key in ("batch_shape", "batch_input_shape"):
        s = as_shape(cfg.get(key))
        if s is not None:
            return s
    if not weak:
        return None
    if as_shape(cfg.get("input_shape")) is not None:
        return (None, *cfg["input_shape"])
    dim, length = cfg.get("input_dim"), cfg.get("input_length")
    if cls == "Embedding":
        return (None, length) if isinstance(length, int) else None
    if isinstance(dim, int) and not isinstance(dim, bool):
        return (None, length, dim) if "input_length" in cfg else (None, dim)
    return None


def history(obj: object, out: list[str], refs: bool = False, depth: int = 0) -> None:
    """Names of the layers an inbound node (Keras 3 ``keras_history`` or a legacy
    ``[name, node, tensor, kwargs]`` list) or an ``output_layers`` list refers to."""
    if depth > 32:
        return
    if isinstance(obj, Mapping):
        cfg = obj.get("config")
        if obj.get("class_name") == "__keras_tensor__" and isinstance(cfg, Mapping):
            hist = cfg.get("keras_history")
            if isinstance(hist, list) and hist and isinstance(hist[0], str):
                out.append(hist[0])
            return
        for v in obj.values():
            history(v, out, refs, depth + 1)
    elif isinstance(obj, list):
        if obj and isinstance(obj[0], str) and (refs or len(obj) >= 3) and len(obj) >= 2 \
                and isinstance(obj[1], int):
            out.append(obj[0])
            for v in obj[3:]:
                history(v, out, refs, depth + 1)
            return
        for v in obj:
            history(v, out, refs, depth + 1)


def safe_output_shape(cls: str, cfg: Mapping[str, Any],
                       inputs: list[Shape | None]) -> Shape | None:
    """The propagated output shape, or None (unknown) when the config's values make no sense."""
    try:
        out = output_shape(cls, cfg, inputs)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError):
        return None
    return as_shape(out) if out is None or all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
        for d in out) else None


def safe_expand(cls: str, cfg: Mapping[str, Any], inputs: list[Shape | None]
                 ) -> tuple[list[hub.Sub], Shape] | None:
    """keras_hub's composite layer as its sublayers, or None (then it is an unknown class)."""
    try:
        return hub.expand(cls, cfg, inputs)
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError):
        return None
