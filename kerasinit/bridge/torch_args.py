"""The argument rules of the torch-style functional API (:mod:`kerasinit.bridge.functional`).

torch's same-meaning keywords (``std``, ``a``/``b``, ``gain``, ``val``) against Keras's, the
positivity of ``gain``, Keras's fixed truncation cut, and the one call into
:class:`~kerasinit.bridge.initializer.Initializer` every ``*_`` function ends with.

Example:
    >>> torch_alias("truncated_normal_", "stddev", 0.05, 0.05, "std", 0.02)
    0.02
    >>> positive("gain", 2, "glorot_uniform_")
    2.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch

from kerasinit.bridge.initializer import Initializer
from kerasinit.bridge.layouts import LayoutLike
from kerasinit.mappings.errors import InitializerArgumentError, shown
from kerasinit.mappings.specs import PRESETS, Spec, VarianceScalingSpec
from kerasinit.mappings.versions import VersionLike

__all__ = ["Axes", "Fans", "apply_spec", "check_cut", "positive", "preset", "torch_alias"]

Fans = tuple[float, float] | None
Axes = Sequence[int] | None


_T = TypeVar("_T")


def torch_alias(function: str, keras_name: str, keras_value: _T, keras_default: object,
                torch_name: str, torch_value: _T | None) -> _T:
    """Keras's keyword, or torch's same-meaning keyword (not both, unless they agree)."""
    if torch_value is None:
        return keras_value
    if keras_value != keras_default and keras_value != torch_value:
        raise InitializerArgumentError(
            f"{function}: `{torch_name}` (torch's name) and `{keras_name}` (Keras's name) are the "
            f"same argument; pass one. Received: {torch_name}={shown(torch_value)}, "
            f"{keras_name}={shown(keras_value)}.")
    return torch_value


def positive(name: str, value: object, function: str) -> float:
    """``value`` as a float if it is a positive number, else an InitializerArgumentError."""
    try:
        number = None if isinstance(value, bool) or not isinstance(value, int | float) \
            else float(value)
    except OverflowError:  # an int beyond the float range: Keras cannot convert it either
        number = None
    if number is None or not number > 0:
        raise InitializerArgumentError(
            f"{function}: `{name}` must be a positive number (within the float range). "
            f"Received: {name}={shown(value)}.")
    return number


def check_cut(mean: float, stddev: float, a: float | None, b: float | None) -> None:
    """torch's absolute bounds ``a``/``b`` are accepted only where they are Keras's cut."""
    for name, given, keras in (("a", a, mean - 2 * stddev), ("b", b, mean + 2 * stddev)):
        if given is not None and given != keras:
            raise InitializerArgumentError(
                f"truncated_normal_: Keras's TruncatedNormal cuts at mean ± 2·stddev "
                f"({mean - 2 * stddev:g}, {mean + 2 * stddev:g}); `{name}` (torch's absolute bound) "
                f"must equal it or be omitted. Received: {name}={shown(given)}. For other bounds "
                f"use torch.nn.init.trunc_normal_.")


def apply_spec(
    spec: Spec, tensor: torch.Tensor, layout: LayoutLike, fans: Fans,
    generator: torch.Generator | None, keras_version: VersionLike,
) -> torch.Tensor:
    """Fill ``tensor`` in place with ``spec`` (the one call every ``*_`` function makes)."""
    return Initializer(spec, keras_version)(tensor, layout=layout, fans=fans, generator=generator)


def preset(name: str, tensor: torch.Tensor, seed: int | None, input_axes: Axes,
           output_axes: Axes, layout: LayoutLike, fans: Fans,
           generator: torch.Generator | None, keras_version: VersionLike,
           gain: float = 1.0) -> torch.Tensor:
    """A VarianceScaling preset (``"he_normal"``...), torch's ``gain`` folded into the scale."""
    scale, mode, dist = PRESETS[name]
    if gain != 1.0:  # torch's xavier_*_(gain=g) is VarianceScaling with scale g²
        scale *= positive("gain", gain, f"{name}_") ** 2
    spec = VarianceScalingSpec(name=name, scale=scale, mode=mode, distribution=dist, seed=seed,
                               input_axes=input_axes,  # type: ignore[arg-type]  # validated by the spec
                               output_axes=output_axes)  # type: ignore[arg-type]
    return apply_spec(spec, tensor, layout, fans, generator, keras_version)
