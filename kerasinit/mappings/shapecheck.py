"""The one shape check: a shape against a rank rule and fixed / divisible dims (pure; no torch).

Every layout (:mod:`kerasinit.bridge.layouts`), the module-level parameter views
(:mod:`kerasinit.modules.params`) and the structured initializers
(:mod:`kerasinit.mappings.resolve`: Orthogonal, Identity, STFT) validate shapes through
:func:`check_shape`, so the rule and the error are written one way.

Example:
    >>> check_shape((6, 4), "An MHA projection weight must be 2-D.", rank=2, divisible=(0, 3))
    (6, 4)
    >>> check_shape((5,), "A (3*hidden,) bias.", rank=(1, 2), divisible=(0, 3))
    Traceback (most recent call last):
    ...
    kerasinit.mappings.errors.LayoutError: A (3*hidden,) bias. Received shape (5,).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kerasinit.mappings.errors import LayoutError

__all__ = ["check_shape"]


def check_shape(
    shape: Sequence[int],
    expected: str,
    *,
    rank: int | tuple[int, ...] | None = None,
    min_rank: int = 0,
    divisible: tuple[int, int] | None = None,
    dims: Mapping[int, int] | None = None,
    equal: Sequence[int] | None = None,
    label: str = "shape",
) -> tuple[int, ...]:
    """``shape`` (as a tuple) if it follows the rule, else a :class:`LayoutError`.

    Args:
        shape: the shape to check.
        expected: what the caller expects, in words (the error's first sentence).
        rank: the allowed rank(s); None for any.
        min_rank: the smallest allowed rank.
        divisible: ``(axis, n)``: ``shape[axis]`` must be a multiple of ``n`` (``n >= 1``).
        dims: ``{axis: size}`` dims that must have that size.
        equal: the one shape allowed.
        label: how the error names the received shape (``"shape"``, ``"Keras shape"``).

    Raises:
        LayoutError: ``"{expected} Received {label} {shape}."``.
    """
    shape = tuple(shape)
    ranks = (rank,) if isinstance(rank, int) else rank
    ok = len(shape) >= min_rank and (ranks is None or len(shape) in ranks)
    if ok and divisible is not None:
        axis, n = divisible
        ok = n >= 1 and -len(shape) <= axis < len(shape) and shape[axis] % n == 0
    if ok and dims:
        ok = all(-len(shape) <= a < len(shape) and shape[a] == d for a, d in dims.items())
    if ok and equal is not None:
        ok = shape == tuple(equal)
    if not ok:
        raise LayoutError(f"{expected} Received {label} {shape}.")
    return shape
