"""Spec + Keras kernel shape + Keras version -> the exact distribution (pure; no torch).

This is where Keras's arithmetic lives, in float64 as Keras does it::

    n = fan_in | fan_out | (fan_in + fan_out) / 2        (by mode)
    s = scale / max(1, n)
    truncated_normal:   TN(0, σ = sqrt(s) / 0.87962566103423978, cut ±2σ)   (realised std sqrt(s))
    untruncated_normal: N(0, sqrt(s))
    uniform:            U[-sqrt(3 s), sqrt(3 s))

Version differences (see :mod:`kerasinit.mappings.versions`): old fan rules, no 1/C fix before
Keras 2.2, untruncated ``glorot_normal``/``he_normal`` in Keras 1, einsum-axes fans for
EinsumDense/MultiHeadAttention kernels from Keras 3.15.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from kerasinit.mappings.distributions import (
    STFT,
    TRUNCNORM_STD,
    Constant,
    Distribution,
    Identity,
    Normal,
    Orthogonal,
    TruncatedNormal,
    Uniform,
)
from kerasinit.mappings.errors import LayoutError, shown
from kerasinit.mappings.fans import axes_fans, compute_fans
from kerasinit.mappings.shapecheck import check_shape
from kerasinit.mappings.specs import (
    ConstantSpec,
    IdentitySpec,
    OrthogonalSpec,
    RandomNormalSpec,
    RandomUniformSpec,
    Spec,
    STFTSpec,
    TruncatedNormalSpec,
    VarianceScalingSpec,
)
from kerasinit.mappings.versions import KerasVersion

__all__ = ["Resolved", "check_fans", "resolve"]

Axes = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Resolved:
    """What will be sampled for one Keras kernel.

    Attributes:
        name: canonical Keras name of the initializer.
        distribution: the exact distribution (see :mod:`kerasinit.mappings.distributions`).
        keras_shape: the Keras-layout shape the fans were computed on.
        fan_in, fan_out: the fans used (Keras fans; the override if one was given).
        fan_source: ``"keras rank rule"``, ``"einsum axes"``, ``"config axes"`` or ``"override"``.
        keras_version: the version whose semantics applied.
    """

    name: str
    distribution: Distribution
    keras_shape: tuple[int, ...]
    fan_in: float
    fan_out: float
    fan_source: str
    keras_version: KerasVersion

    def __str__(self) -> str:
        return (f"{self.name} on Keras shape {self.keras_shape} "
                f"(fan_in={self.fan_in:g}, fan_out={self.fan_out:g}; {self.fan_source}; "
                f"{self.keras_version.label()}): {self.distribution.formula()}")


def check_fans(fans: object) -> tuple[float, float]:
    """Validate a ``fans=(fan_in, fan_out)`` override: two finite numbers >= 0."""
    ok = isinstance(fans, (tuple, list)) and len(fans) == 2
    values: list[float] = []
    if isinstance(fans, (tuple, list)) and ok:
        for f in fans:
            number = float(f) if isinstance(f, float) or (
                isinstance(f, int) and not isinstance(f, bool) and abs(f) < 1 << 1000) else None
            if number is None or not math.isfinite(number) or number < 0:
                ok = False
                break
            values.append(number)
    if not ok:
        raise LayoutError(
            f"`fans` must be a pair (fan_in, fan_out) of finite numbers >= 0. Received: "
            f"fans={shown(fans)}."
        )
    return values[0], values[1]


def resolve(
    spec: Spec,
    keras_shape: Sequence[int],
    version: KerasVersion,
    *,
    fans: tuple[float, float] | None = None,
    einsum_axes: Axes | None = None,
) -> Resolved:
    """Resolve a spec on a Keras kernel shape.

    Args:
        spec: the initializer spec.
        keras_shape: the kernel shape in Keras layout.
        version: Keras semantics to apply.
        fans: explicit ``(fan_in, fan_out)``; always wins.
        einsum_axes: ``(input_axes, output_axes)`` of an EinsumDense/MHA kernel; used for
            VarianceScaling from Keras 3.15 when the spec has no axes of its own.

    Example:
        >>> from kerasinit.mappings.versions import LATEST
        >>> r = resolve(VarianceScalingSpec(name="he_uniform", scale=2.0, mode="fan_in",
        ...             distribution="uniform"), (784, 256), LATEST)
        >>> round(r.distribution.high, 6)
        0.087482
    """
    shape = tuple(int(d) for d in keras_shape)
    return _resolve(spec, shape, version, None if fans is None else check_fans(fans), einsum_axes)


@lru_cache(maxsize=4096)
def _resolve(
    spec: Spec,
    shape: tuple[int, ...],
    version: KerasVersion,
    fans: tuple[float, float] | None,
    einsum_axes: Axes | None,
) -> Resolved:
    fan_in, fan_out, source = _fans(spec, shape, version, fans, einsum_axes)
    dist = _distribution(spec, shape, version, fan_in, fan_out)
    return Resolved(spec.name, dist, shape, fan_in, fan_out, source, version)


def _fans(
    spec: Spec, shape: tuple[int, ...], version: KerasVersion,
    fans: tuple[float, float] | None, einsum_axes: Axes | None,
) -> tuple[float, float, str]:
    if fans is not None:
        return fans[0], fans[1], "override"
    if isinstance(spec, VarianceScalingSpec):
        if spec.input_axes is not None and spec.output_axes is not None:
            return (*axes_fans(shape, spec.input_axes, spec.output_axes), "config axes")
        if einsum_axes is not None and version.einsum_fans:
            return (*axes_fans(shape, *einsum_axes), "einsum axes (Keras >= 3.15)")
    fi, fo = compute_fans(shape, version.fan_rule)
    return fi, fo, f"Keras rank rule ({version.fan_rule.value})"


def _distribution(
    spec: Spec, shape: tuple[int, ...], version: KerasVersion, fan_in: float, fan_out: float
) -> Distribution:
    return _RESOLVERS[type(spec)](spec, shape, version, fan_in, fan_out)


def _normal(spec: RandomNormalSpec, *_: object) -> Normal:
    return Normal(spec.mean, spec.stddev)


def _truncated_normal(spec: TruncatedNormalSpec, *_: object) -> TruncatedNormal:
    a, b = spec.mean - 2.0 * spec.stddev, spec.mean + 2.0 * spec.stddev
    return TruncatedNormal(spec.mean, spec.stddev, min(a, b), max(a, b))


def _uniform(spec: RandomUniformSpec, *_: object) -> Uniform:
    return Uniform(spec.minval, spec.maxval)


def _orthogonal(spec: OrthogonalSpec, shape: tuple[int, ...], *_: object) -> Orthogonal:
    check_shape(shape, "Orthogonal needs a kernel of rank >= 2 (Keras flattens it to "
                "(prod(shape[:-1]), shape[-1])).", min_rank=2, label="Keras shape")
    return Orthogonal(spec.gain)


def _identity(spec: IdentitySpec, shape: tuple[int, ...], *_: object) -> Identity:
    check_shape(shape, "Identity is only defined for 2-D kernels (Keras raises for rank != 2; "
                "torch's dirac_ is not a Keras initializer).", rank=2, label="Keras shape")
    return Identity(spec.gain)


def _variance_scaling(
    spec: VarianceScalingSpec, shape: tuple[int, ...], version: KerasVersion, fan_in: float,
    fan_out: float,
) -> Distribution:
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[spec.mode]
    s = spec.scale / max(1.0, n)
    if spec.distribution == "uniform":
        limit = math.sqrt(3.0 * s)
        return Uniform(-limit, limit)
    if spec.distribution == "untruncated_normal" or (
        version.untruncated_named_normals and spec.name in ("glorot_normal", "he_normal")
    ):
        return Normal(0.0, math.sqrt(s))
    std = math.sqrt(s) / TRUNCNORM_STD if version.truncation_correction else math.sqrt(s)
    return TruncatedNormal(0.0, std, -2.0 * std, 2.0 * std)


def _constant(spec: ConstantSpec, shape: tuple[int, ...], version: KerasVersion,
              *_: object) -> Constant:
    if not isinstance(spec.value, tuple):
        return Constant(spec.value)
    import numpy as np

    value = np.asarray(spec.value, dtype=np.float64)
    if spec.exact_shape:
        check_shape(shape, f"This constant initializer was built from an array of shape "
                    f"{value.shape}; Keras requires the kernel shape to equal it.",
                    equal=value.shape, label="Keras shape")
        return Constant(spec.value, "exact")
    rule = version.constant_arrays
    if rule == "broadcast":
        try:
            np.broadcast_shapes(value.shape, shape)
            ok = np.broadcast_shapes(value.shape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise LayoutError(
                f"Constant value of shape {value.shape} does not broadcast to the Keras kernel "
                f"shape {shape} (Keras 3 broadcasts the value against ones(shape))."
            )
    elif value.size not in (1, math.prod(shape)):
        raise LayoutError(
            f"Constant value with {value.size} elements cannot fill the Keras kernel shape "
            f"{shape} ({math.prod(shape)} elements): tf_keras reshapes equal-size values only."
        )
    return Constant(spec.value, rule)


def _stft(spec: STFTSpec, shape: tuple[int, ...], *_: object) -> STFT:
    check_shape(shape, "STFT fills a Conv1D kernel of Keras shape (frame_length, 1, "
                "fft_length // 2 + 1) (torch Conv1d(1, F, T) weight (F, 1, T)).", rank=3,
                dims={1: 1}, label="Keras shape")
    if isinstance(spec.window, tuple) and len(spec.window) != shape[0]:
        raise LayoutError(
            f"STFT: the window array has length {len(spec.window)}; it must equal the frame "
            f"length {shape[0]}."
        )
    return STFT(spec.side, spec.window, spec.scaling, spec.periodic)


#: the one dispatch over spec classes: spec class -> (spec, Keras shape, version, fan_in,
#: fan_out) -> its exact distribution
_RESOLVERS: dict[type, Callable[..., Distribution]] = {
    VarianceScalingSpec: _variance_scaling, RandomNormalSpec: _normal,
    TruncatedNormalSpec: _truncated_normal, RandomUniformSpec: _uniform,
    OrthogonalSpec: _orthogonal, IdentitySpec: _identity, ConstantSpec: _constant,
    STFTSpec: _stft,
}
