"""Argument checks of the ``kerasinit.nn`` constructors, run before torch's constructor.

torch's own constructors check few of their arguments, and with torch's own exception types
(``RuntimeError`` for ``Linear(-1, 3)``, ``AssertionError`` for ``Embedding(5, 3,
padding_idx=7)``, ``TypeError`` for ``Linear(3.5, 3)``, ``ZeroDivisionError`` for
``GroupNorm(0, 4)``); many they accept and fail on only in ``forward`` (``Conv2d(4, 8, 3,
stride=0)``, a 3-tuple ``kernel_size`` for ``Conv2d``, ``MultiheadAttention(dropout=3)``). Every
``kerasinit.nn`` class validates all of its arguments here first, by one table keyed by the
argument's name, and raises a :class:`LayerArgumentError` naming the value and the valid range.

What is accepted follows torch where torch's constructor decides (sizes of 0 where torch builds a
zero-size layer) and Keras where torch defers the error to ``forward`` (kernel sizes, strides and
dilations >= 1, as Keras's ``standardize_tuple``; ``output_padding`` below the stride or dilation,
as Keras's ``Conv*DTranspose``). Flags (``bias``, ``batch_first`` ...) are ``True``/``False``.

Example:
    >>> check_layer("Linear", {"in_features": -1, "out_features": 3})
    Traceback (most recent call last):
    ...
    kerasinit.nn._args.LayerArgumentError: Linear: `in_features` must be an int >= 0. Received: -1.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from kerasinit.mappings.errors import KerasInitError, format_choices, shown

__all__ = ["LayerArgumentError", "check_args", "check_common", "check_layer"]

#: most dimensions of a ``normalized_shape`` (torch tensors have at most 64).
_MAX_RANK = 64


class LayerArgumentError(KerasInitError):
    """A bad argument to a ``kerasinit.nn`` constructor (a size, kernel, flag, device, dtype)."""


def _fail(owner: str, name: str, valid: str, value: object) -> LayerArgumentError:
    return LayerArgumentError(f"{owner}: `{name}` must be {valid}. Received: {shown(value, 80)}.")


def _int(owner: str, name: str, value: object, low: int) -> int:
    if isinstance(value, (bool, float)) or not hasattr(value, "__index__"):
        raise _fail(owner, name, f"an int >= {low}", value)
    number = operator.index(value)  # type: ignore[arg-type]
    if number < low:
        raise _fail(owner, name, f"an int >= {low}", value)
    return number


def _size(low: int) -> Callable[[str, str, object, int], object]:
    return lambda owner, name, value, n: _int(owner, name, value, low)


def _optional_size(low: int) -> Callable[[str, str, object, int], object]:
    return lambda owner, name, value, n: None if value is None else _int(owner, name, value, low)


def _flag(owner: str, name: str, value: object, n: int) -> bool:
    if value is True or value is False or isinstance(value, np.bool_):
        return bool(value)
    raise _fail(owner, name, "True or False", value)


def _real(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _number(low: float, high: float, optional: bool = False, finite: bool = True,
            ) -> Callable[[str, str, object, int], object]:
    if math.isinf(high):
        valid = f"a finite number >= {low:g}" if finite else "a number"
    else:
        valid = f"a number in [{low:g}, {high:g}]"
    valid += " or None" if optional else ""

    def check(owner: str, name: str, value: object, n: int) -> object:
        if value is None and optional:
            return None
        number = _real(value)
        ok = number is not None and (
            not finite or (math.isfinite(number) and low <= number <= high))
        if not ok:
            raise _fail(owner, name, valid, value)
        return value
    return check


def _tuple(low: int) -> Callable[[str, str, object, int], object]:
    def check(owner: str, name: str, value: object, n: int) -> object:
        valid = f"an int >= {low} or a tuple of {n} such ints"
        items = (value,) * n if not isinstance(value, (tuple, list)) else tuple(value)
        if len(items) != n:
            raise _fail(owner, name, valid, value)
        try:
            return tuple(_int(owner, name, v, low) for v in items) if isinstance(
                value, (tuple, list)) else _int(owner, name, value, low)
        except LayerArgumentError:
            raise _fail(owner, name, valid, value) from None
    return check


def _padding(owner: str, name: str, value: object, n: int) -> object:
    if isinstance(value, str):
        if value not in ("same", "valid"):
            raise _fail(owner, name, f"'same', 'valid', an int >= 0 or a tuple of {n} such ints",
                        value)
        return value
    return _tuple(0)(owner, name, value, n)


def _choice(*choices: str) -> Callable[[str, str, object, int], object]:
    def check(owner: str, name: str, value: object, n: int) -> object:
        if not isinstance(value, str) or value not in choices:
            raise _fail(owner, name, f"one of {format_choices(choices)}", value)
        return value
    return check


def _shape(owner: str, name: str, value: object, n: int) -> object:
    valid = f"an int >= 0 or a sequence of at most {_MAX_RANK} such ints"
    if isinstance(value, (tuple, list, torch.Size)):
        if len(value) > _MAX_RANK:
            raise _fail(owner, name, valid, value)
        try:
            return tuple(_int(owner, name, v, 0) for v in value)
        except LayerArgumentError:
            raise _fail(owner, name, valid, value) from None
    try:
        return _int(owner, name, value, 0)
    except LayerArgumentError:
        raise _fail(owner, name, valid, value) from None


def _weight(owner: str, name: str, value: object, n: int) -> object:
    if value is not None and not isinstance(value, torch.Tensor):
        raise _fail(owner, name, "a torch.Tensor or None", value)
    return value


_FLAGS = ("bias", "batch_first", "bidirectional", "add_bias_kv", "add_zero_attn", "affine",
          "track_running_stats", "elementwise_affine", "scale_grad_by_freq", "sparse", "_freeze")
#: argument name -> check(owner, name, value, spatial rank) returning the value to pass on.
RULES: dict[str, Callable[[str, str, object, int], object]] = {
    **{k: _size(0) for k in ("in_features", "out_features", "num_embeddings", "embedding_dim",
                             "num_parameters", "num_features", "in_channels", "out_channels",
                             "num_channels", "proj_size")},
    **{k: _size(1) for k in ("input_size", "hidden_size", "num_layers", "embed_dim",
                             "num_heads", "num_groups", "groups", "depth_multiplier")},
    **{k: _flag for k in _FLAGS},
    "kdim": _optional_size(1), "vdim": _optional_size(1),
    "padding_idx": lambda owner, name, value, n: (
        None if value is None else _int(owner, name, value, -(1 << 62))),
    "dropout": _number(0.0, 1.0), "momentum": _number(0.0, 1.0, optional=True),
    "eps": _number(0.0, math.inf), "max_norm": _number(0.0, math.inf, optional=True),
    "norm_type": _number(-math.inf, math.inf, finite=False),
    "init": _number(-math.inf, math.inf, optional=True, finite=False),
    "kernel_size": _tuple(1), "stride": _tuple(1), "dilation": _tuple(1),
    "output_padding": _tuple(0), "padding": _padding,
    "padding_mode": _choice("zeros", "reflect", "replicate", "circular"),
    "nonlinearity": _choice("tanh", "relu"),
    "normalized_shape": _shape, "_weight": _weight,
}


def check_layer(owner: str, args: Mapping[str, object], n: int = 1,
                transpose: bool = False, positive: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check the torch-side arguments of layer ``owner`` (each by :data:`RULES`, then how they
    fit together); return them normalized (ints for int-like values). ``n`` is the spatial
    rank of a convolution, ``positive`` names sizes that must be >= 1 for this layer."""
    out = {name: _size(1)(owner, name, value, n) if name in positive else
           RULES[name](owner, name, value, n) if name in RULES else value
           for name, value in args.items()}
    _relations(owner, out, n, transpose)
    return out


def _each(value: object, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (int(value),) * n  # type: ignore[call-overload]


def _relations(owner: str, a: dict[str, Any], n: int, transpose: bool) -> None:
    groups = a.get("groups")
    for side in ("in_channels", "out_channels"):
        if groups is not None and a.get(side) is not None and a[side] % groups:
            raise LayerArgumentError(
                f"{owner}: `{side}` ({a[side]}) must be divisible by `groups` ({groups}).")
    padding = a.get("padding")
    if isinstance(padding, str) and transpose:
        raise _fail(owner, "padding", f"an int >= 0 or a tuple of {n} such ints (a transposed "
                    f"convolution has no 'same'/'valid' padding)", padding)
    if padding == "same" and any(s != 1 for s in _each(a.get("stride", 1), n)):
        raise LayerArgumentError(f"{owner}: padding='same' needs stride 1 (torch has no strided "
                                 f"'same' padding). Received: stride={a['stride']!r}.")
    if transpose and a.get("padding_mode", "zeros") != "zeros":
        raise _fail(owner, "padding_mode", "'zeros' (a transposed convolution pads no input)",
                    a["padding_mode"])
    if "output_padding" in a:
        pairs = zip(_each(a["output_padding"], n), _each(a.get("stride", 1), n),
                    _each(a.get("dilation", 1), n), strict=True)
        if any(p >= max(s, d) for p, s, d in pairs):
            raise LayerArgumentError(
                f"{owner}: `output_padding` must be smaller than the stride or the dilation in "
                f"each dimension (as Keras and torch require). Received: output_padding="
                f"{a['output_padding']!r}, stride={a.get('stride', 1)!r}, dilation="
                f"{a.get('dilation', 1)!r}.")
    _sizes(owner, a)


def _sizes(owner: str, a: dict[str, Any]) -> None:
    num, idx = a.get("num_embeddings"), a.get("padding_idx")
    if idx is not None and num is not None and not -num <= idx < num:
        raise _fail(owner, "padding_idx", f"None or an int in [{-num}, {num}) (within "
                    f"num_embeddings={num})", idx)
    weight = a.get("_weight")
    if weight is not None and tuple(weight.shape) != (num, a.get("embedding_dim")):
        raise _fail(owner, "_weight", f"a tensor of shape ({num}, {a.get('embedding_dim')}) "
                    f"(num_embeddings, embedding_dim)", f"a tensor of shape {tuple(weight.shape)}")
    hidden, proj = a.get("hidden_size"), a.get("proj_size")
    if proj and hidden is not None and proj >= hidden:
        raise _fail(owner, "proj_size", f"an int in [0, {hidden}) (below hidden_size={hidden})",
                    proj)
    for total, parts in (("embed_dim", "num_heads"), ("num_channels", "num_groups")):
        if a.get(total) is not None and a.get(parts) and a[total] % a[parts]:
            raise LayerArgumentError(f"{owner}: `{total}` ({a[total]}) must be divisible by "
                                     f"`{parts}` ({a[parts]}).")


def check_common(owner: str, device: object, dtype: object, generator: object) -> None:
    """``device`` usable here, ``dtype`` None or floating, ``generator`` None or a Generator on
    the layer's device type."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise _fail(owner, "dtype", "None or a floating-point torch.dtype (Keras initializers "
                    "sample real values; torch parameters of other dtypes cannot require "
                    "gradients)", dtype)
    try:
        where = (torch.device(device) if device is not None  # type: ignore[call-overload]
                 else torch.get_default_device())
        torch.empty(0, device=where)  # the device exists and is usable; draws nothing
    except (RuntimeError, TypeError, ValueError, AssertionError) as exc:
        raise _fail(owner, "device", f"None or a usable torch device ({shown(str(exc), 100)})",
                    device) from None
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise _fail(owner, "generator", "a torch.Generator or None", generator)
        if where.type != "meta" and generator.device.type != where.type:
            raise LayerArgumentError(
                f"{owner}: the generator is on {generator.device} but the layer is built on "
                f"{where}; torch samples only with a generator of the tensor's device type.")


def check_args(owner: str, args: Mapping[str, object], device: object, dtype: object,
               generator: object, n: int = 1, transpose: bool = False,
               positive: tuple[str, ...] = ()) -> dict[str, Any]:
    """:func:`check_layer` then :func:`check_common`: everything torch's constructor takes."""
    out = check_layer(owner, args, n, transpose, positive)
    check_common(owner, device, dtype, generator)
    return out
