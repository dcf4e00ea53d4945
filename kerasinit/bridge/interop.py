"""Keras interop helpers: Keras-style calls, configs without ``class_name``, ``custom_objects``.

* ``init(shape, dtype=...)`` — how Keras calls an initializer — returns a new tensor of that
  **Keras** shape (layout ``"keras"``), so a kerasinit initializer can be handed to Keras-style
  code that expects a Keras initializer.
* ``get(config, class_name="HeNormal")`` / ``Initializer.from_config(config, class_name=...)``
  accept a bare ``get_config()`` dict (Keras's own ``from_config`` knows the class from ``cls``).
* ``get("MyInit", custom_objects={"MyInit": "he_normal"})`` maps a custom name to any identifier
  kerasinit accepts, as ``porting.read(..., custom_objects=...)`` does, and as Keras's
  ``custom_object_scope`` does for ``initializers.get``. Keras 3.16 no longer looks a *string*
  up there (only a config dict ``{"class_name": "MyInit", ...}``), so with
  ``keras_version="3.16"`` a custom name given as a string is refused, as Keras refuses it.

>>> keras_shape_and_dtype((3, 4), "float16")
((3, 4), torch.float16)
>>> with_class_name({"seed": 1}, "HeNormal")
{'class_name': 'HeNormal', 'config': {'seed': 1}}
>>> substitute_custom("MyInit", {"MyInit": "he_normal"})
'he_normal'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from kerasinit.mappings.errors import (
    InitializerArgumentError,
    LayoutError,
    UnknownInitializerError,
    shown,
)

__all__ = ["keras_shape_and_dtype", "string_lookup_error", "substitute_custom", "with_class_name"]

_DTYPES = {"float16": torch.float16, "half": torch.float16, "bfloat16": torch.bfloat16,
           "float32": torch.float32, "float": torch.float32, "float64": torch.float64,
           "double": torch.float64}


def is_shape(value: object) -> bool:
    """True for a Keras-style shape argument (tuple/list/``torch.Size`` of ints)."""
    return isinstance(value, tuple | list | torch.Size) and all(
        isinstance(d, int) and not isinstance(d, bool) for d in value)


def keras_shape_and_dtype(shape: Sequence[int], dtype: object) -> tuple[tuple[int, ...],
                                                                         torch.dtype]:
    """Validate ``init(shape, dtype)``'s arguments (Keras dtype names or torch dtypes)."""
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims) or len(dims) > 16:
        raise LayoutError(f"`shape` must hold at most 16 non-negative ints. Received: {shape!r}.")
    if dtype is None:
        return dims, torch.get_default_dtype()
    if isinstance(dtype, torch.dtype):
        return dims, dtype
    name = getattr(dtype, "name", dtype)  # numpy / Keras dtype objects carry .name
    if isinstance(name, str) and name in _DTYPES:
        return dims, _DTYPES[name]
    raise InitializerArgumentError(
        f"`dtype` must be a float dtype: a torch.dtype or one of {sorted(_DTYPES)}. "
        f"Received: {shown(dtype)}.")


def with_class_name(identifier: object, class_name: object) -> dict[str, object]:
    """``{"class_name": class_name, "config": identifier}`` for a bare ``get_config()`` dict."""
    if not isinstance(class_name, str):
        raise InitializerArgumentError(
            f"`class_name` must be a string (e.g. 'HeNormal'). Received: {shown(class_name)}.")
    if identifier is None:
        identifier = {}
    if not isinstance(identifier, Mapping):
        raise InitializerArgumentError(
            f"class_name= goes with a config dict (an initializer's get_config()). Received: "
            f"{shown(identifier)} (type {type(identifier).__name__}).")
    if "class_name" in identifier:
        if identifier["class_name"] != class_name:
            raise InitializerArgumentError(
                f"The config names class_name {shown(identifier['class_name'])} but class_name="
                f"{class_name!r} was passed; pass one.")
        return dict(identifier)
    return {"class_name": class_name, "config": dict(identifier)}


def substitute_custom(identifier: object, custom_objects: object,
                      by_string: bool = True) -> object:
    """The identifier ``custom_objects`` maps ``identifier``'s name to, else ``identifier``.

    ``by_string=False`` (Keras 3.16, whose ``initializers.get`` finds custom initializers only
    from a config dict) refuses a custom name given as a plain string.
    """
    if custom_objects is None:
        return identifier
    if not isinstance(custom_objects, Mapping) or not all(
            isinstance(k, str) for k in custom_objects):
        raise InitializerArgumentError(
            f"`custom_objects` must be a dict mapping custom initializer names (strings) to a "
            f"kerasinit identifier (e.g. {{'MyInit': 'he_normal'}}). Received: "
            f"{shown(custom_objects)} (type {type(custom_objects).__name__}).")
    if isinstance(identifier, str) and identifier in custom_objects:
        if not by_string:
            raise string_lookup_error(identifier)
        return custom_objects[identifier]
    if isinstance(identifier, Mapping):
        for key in ("registered_name", "class_name"):
            name = identifier.get(key)
            if isinstance(name, str) and name in custom_objects:
                return custom_objects[name]
    return identifier


def string_lookup_error(name: str) -> UnknownInitializerError:
    """Keras 3.16's refusal of a custom initializer named by a plain string."""
    return UnknownInitializerError(
        f"Could not interpret initializer identifier {name!r}: Keras 3.16 looks a string up only "
        f"among the built-in initializers (custom_object_scope / custom_objects no longer apply "
        f"to strings). Pass the config {{'class_name': {name!r}, 'config': {{}}}}, which Keras "
        f"3.16 still resolves through custom objects, or keras_version='3.15'.")
