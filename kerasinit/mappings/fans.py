"""Keras fan rules on Keras kernel layouts (pure; no torch).

Keras computes fans on its own kernel layout ``(*receptive_field, in, out)``::

    rank 0 -> (1, 1);  rank 1 (n,) -> (n, n);  rank 2 (a, b) -> (a, b)
    rank >= 3 -> (s[-2] * R, s[-1] * R),  R = prod(s[:-2])

Keras >= 3.15 also accepts explicit ``input_axes``/``output_axes`` (used only when both are
given): ``fan_in = prod(s[a] for a in input_axes)`` and likewise for ``fan_out``. Older Keras
versions used other rules (see :mod:`kerasinit.mappings.versions`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kerasinit.mappings.errors import LayoutError
from kerasinit.mappings.versions import FanRule

__all__ = ["axes_fans", "compute_fans"]


def _prod(values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def compute_fans(shape: Sequence[int], rule: FanRule = FanRule.MODERN) -> tuple[float, float]:
    """(fan_in, fan_out) of a Keras-layout kernel shape under a version's rank rule.

    Args:
        shape: the Keras kernel shape, e.g. ``(3, 3, 64, 128)`` for a Conv2D(128) on 64 channels.
        rule: the fan rule of the Keras version (``KerasVersion.fan_rule``).

    Returns:
        ``(fan_in, fan_out)``; ints as floats, or ``sqrt(prod(shape))`` for the old rules.

    Example:
        >>> compute_fans((3, 3, 64, 128))
        (576.0, 1152.0)
        >>> compute_fans((5,)), compute_fans(())
        ((5.0, 5.0), (1.0, 1.0))
    """
    s = tuple(int(d) for d in shape)
    r = len(s)
    if r == 2:
        return float(s[0]), float(s[1])
    if rule is FanRule.MODERN:
        if r == 0:
            return 1.0, 1.0
        if r == 1:
            return float(s[0]), float(s[0])
        rf = _prod(s[:-2])
        return float(s[-2] * rf), float(s[-1] * rf)
    conv_ranks = (4, 5) if rule is FanRule.KERAS1 else (3, 4, 5)
    if r in conv_ranks:
        # Keras 1.0.4-1.2.2 ('tf' ordering) and 2.0.0-2.0.5 took rf = prod(shape[:2]): this
        # misses a spatial axis of 5-D kernels (and of Keras 2.0's 3-D ones, rf = k * in).
        early = rule in (FanRule.KERAS1, FanRule.KERAS2_0)
        rf = _prod(s[:2]) if early else _prod(s[:-2])
        return float(s[-2] * rf), float(s[-1] * rf)
    root = math.sqrt(_prod(s))
    return root, root


def axes_fans(
    shape: Sequence[int], input_axes: Sequence[int], output_axes: Sequence[int]
) -> tuple[float, float]:
    """Keras >= 3.15 fans from explicit axes: products of the sizes on those axes.

    Example:
        >>> axes_fans((64, 4, 32), input_axes=(0,), output_axes=(1, 2))
        (64.0, 128.0)
    """
    r = len(shape)
    for axis in (*input_axes, *output_axes):
        if not -r <= int(axis) < r:
            raise LayoutError(
                f"Axis {axis} is out of range for a Keras kernel of shape {tuple(shape)} "
                f"(valid axes: {-r}..{r - 1}). Received input_axes={tuple(input_axes)}, "
                f"output_axes={tuple(output_axes)}."
            )
    return (float(_prod([shape[a] for a in input_axes])),
            float(_prod([shape[a] for a in output_axes])))
