"""Keras's argument rules for initializer configs: reals, seeds, axes, constant arrays.

Pure data checks (no torch), used by the spec classes of :mod:`kerasinit.mappings.specs` when
they are constructed, as Keras checks in ``__init__``. Each raises
:class:`~kerasinit.mappings.errors.InitializerArgumentError` naming the argument and the value.

Example:
    >>> real_arg("scale", 2, "VarianceScaling"), seed_arg(None, "HeNormal"), axes_arg([3], "a", "X", True)
    (2.0, None, (3,))
    >>> constant_value([[1, 2], [3, 4]]), listify_nested(((1.0, 2.0),))
    (((1.0, 2.0), (3.0, 4.0)), [[1.0, 2.0]])
"""

from __future__ import annotations

import numbers
from typing import Any

from kerasinit.mappings.errors import InitializerArgumentError, shown

__all__ = ["MAX_ARRAY_RANK", "SEED_MAX", "SEED_MIN", "ConstantValue", "axes_arg",
           "constant_value", "listify", "listify_nested", "real_arg", "seed_arg"]

#: Keras hands seeds to its backend as int64 (``[seed, 0]``); values outside are refused.
SEED_MIN, SEED_MAX = -(1 << 63), (1 << 63) - 1


def real_arg(name: str, value: object, owner: str) -> float:
    """A real argument as a float64, as Keras reads it.

    Keras does not validate these values: NaN and infinities pass (the samples are then NaN or
    infinite, as Keras's are), and so do finite values whose samples overflow the tensor dtype
    (they become infinite). What Keras cannot represent at all is refused: a non-number, or an
    integer beyond the float64 range (Keras fails converting it).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InitializerArgumentError(
            f"{owner}: argument `{name}` must be a real number. Received: {name}={shown(value)} "
            f"(type {type(value).__name__})."
        )
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):
        raise InitializerArgumentError(
            f"{owner}: argument `{name}` is outside the float64 range (Keras cannot convert it "
            f"either). Received: {name}={shown(value, 60)}."
        ) from None


def seed_arg(value: object, owner: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InitializerArgumentError(
            f"{owner}: argument `seed` must be an integer or None (a Keras SeedGenerator config "
            f"is read as its integer seed). Received: seed={shown(value)} "
            f"(type {type(value).__name__})."
        )
    seed = int(value)
    if not SEED_MIN <= seed <= SEED_MAX:
        raise InitializerArgumentError(
            f"{owner}: `seed` must fit in int64 ([-2**63, 2**63 - 1]); Keras refuses larger "
            f"seeds (it converts [seed, 0] to an int64 tensor). Received: seed={shown(seed, 60)}."
        )
    return seed


def axes_arg(value: object, name: str, owner: str, used: bool) -> tuple[int, ...] | None:
    """Keras iterates over ``input_axes``/``output_axes`` only when both are given (else it
    ignores them, and EinsumDense replaces them): then each must be a sequence of ints, and a
    bare int fails in Keras (``TypeError: 'int' object is not iterable``) as it does here."""
    if value is None:
        return None
    if hasattr(value, "tolist") and getattr(value, "ndim", None) == 1:  # a 1-D numpy array
        value = value.tolist()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if not used:
            return (int(value),)  # ignored, as Keras ignores it without the other axes
        raise InitializerArgumentError(
            f"{owner}: argument `{name}` must be a list of ints when input_axes and output_axes "
            f"are both given (Keras iterates over it and raises TypeError: 'int' object is not "
            f"iterable). Received: {name}={shown(value)}. Pass [{int(value)}]."
        )
    if isinstance(value, (list, tuple, range)) and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in value
    ):
        return tuple(int(a) for a in value)
    raise InitializerArgumentError(
        f"{owner}: argument `{name}` must be None or a list of ints (axes of the Keras kernel "
        f"shape). Received: {name}={shown(value)}."
    )


ConstantValue = float | tuple[Any, ...]


def listify(axes: tuple[int, ...] | None) -> list[int] | None:
    return None if axes is None else list(axes)


def listify_nested(value: object) -> object:
    if isinstance(value, tuple):
        return [listify_nested(v) for v in value]
    return value


#: Deepest nesting accepted for a Constant array (Keras kernels have rank <= 5; a config
#: nested deeper is refused with an error, never a RecursionError).
MAX_ARRAY_RANK = 32


def constant_value(value: object) -> ConstantValue:
    """A float, or a nested tuple of floats for array values (numpy/list/tensor-like).

    Numbers follow :func:`real_arg` (NaN and infinities pass as Keras lets them; integers beyond
    float64 are refused). Arrays must be rectangular (Keras cannot convert ragged lists) and
    at most ``MAX_ARRAY_RANK`` deep.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return real_arg("value", value, "Constant")
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        inner = value.get("config")
        return constant_value(inner.get("value") if isinstance(inner, dict) else inner)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        value = tolist()
    if isinstance(value, (list, tuple)):
        out, _ = _nest(value, 1)
        return out  # type: ignore[no-any-return]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return real_arg("value", value, "Constant")
    raise InitializerArgumentError(
        f"Constant: `value` must be a number or an array of numbers. Received: "
        f"value={shown(value)} (type {type(value).__name__})."
    )


def _nest(value: object, depth: int) -> tuple[Any, tuple[int, ...]]:
    """``(nested tuple of floats, shape)``; refuses ragged, non-numeric and too-deep values."""
    if not isinstance(value, (list, tuple)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InitializerArgumentError(
                f"Constant: array values must be numbers. Received element {shown(value)} "
                f"(type {type(value).__name__})."
            )
        return real_arg("value", value, "Constant"), ()
    if depth > MAX_ARRAY_RANK:
        raise InitializerArgumentError(
            f"Constant: the value array is nested deeper than {MAX_ARRAY_RANK} levels (the "
            f"limit on its rank). Received: value={shown(value)}."
        )
    items, shapes = [], set()
    for v in value:
        item, shape = _nest(v, depth + 1)
        items.append(item)
        shapes.add(shape)
    if len(shapes) > 1 or (shapes and () in shapes and isinstance(items[0], tuple)):
        raise InitializerArgumentError(
            f"Constant: the value array is ragged (sub-arrays of different shapes "
            f"{sorted(shapes)[:4]}); Keras cannot convert it either. Received: "
            f"value={shown(value)}."
        )
    inner = shapes.pop() if shapes else ()
    return tuple(items), (len(items), *inner)
