"""Frozen spec objects: one per Keras initializer class, with Keras's arguments and checks.

A spec says *what Keras was asked for* (``VarianceScaling(scale=2, mode="fan_in", ...)``),
independent of any tensor. Arguments are validated here, at construction, as Keras does in
``__init__``; nothing is checked later at sampling time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from kerasinit.mappings.errors import InitializerArgumentError, format_choices, shown, suggest
from kerasinit.mappings.spec_values import (
    SEED_MAX,
    SEED_MIN,
    ConstantValue,
    axes_arg,
    constant_value,
    listify,
    listify_nested,
    real_arg,
    seed_arg,
)

__all__ = [
    "DISTRIBUTIONS",
    "MODES",
    "SEED_MAX",
    "SEED_MIN",
    "SPEC_CLASSES",
    "ConstantSpec",
    "IdentitySpec",
    "OrthogonalSpec",
    "RandomNormalSpec",
    "RandomUniformSpec",
    "STFTSpec",
    "Spec",
    "TruncatedNormalSpec",
    "VarianceScalingSpec",
    "config_keys",
]

Mode = Literal["fan_in", "fan_out", "fan_avg"]
DistributionName = Literal["truncated_normal", "untruncated_normal", "uniform"]
MODES: tuple[str, ...] = ("fan_avg", "fan_in", "fan_out")
DISTRIBUTIONS: tuple[str, ...] = ("truncated_normal", "uniform", "untruncated_normal")
#: Keras lower-cases ``distribution`` and stores the legacy ``"normal"`` as ``"truncated_normal"``.
DISTRIBUTION_ALIASES = {"normal": "truncated_normal"}

#: canonical name -> Keras 3 class name
CLASS_NAMES: dict[str, str] = {
    "constant": "Constant", "zeros": "Zeros", "ones": "Ones", "identity": "Identity",
    "stft": "STFT", "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
    "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
    "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform", "he_normal": "HeNormal",
    "lecun_uniform": "LecunUniform", "lecun_normal": "LecunNormal", "orthogonal": "Orthogonal",
}
#: the six VarianceScaling presets: name -> (scale, mode, distribution)
PRESETS: dict[str, tuple[float, str, str]] = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}


#: metadata of a spec field that is no Keras config key (``advancing_seed``, ``exact_shape``)
_NOT_CONFIG = {"config": False}


@dataclass(frozen=True, slots=True, kw_only=True)
class _SpecBase:
    """Shared behaviour: canonical ``name``, Keras ``class_name`` and ``get_config``.

    The fields of a spec class are its Keras config keys (:func:`config_keys`), except ``name``
    (the canonical name) and those marked ``metadata=_NOT_CONFIG``.
    """

    name: str

    @property
    def class_name(self) -> str:
        """The Keras 3 class name (``'HeNormal'``)."""
        return CLASS_NAMES[self.name]

    def get_config(self) -> dict[str, Any]:
        """The Keras 3 config dict of this initializer (as ``get_config()`` returns it)."""
        raise NotImplementedError

    def serialize(self) -> dict[str, Any]:
        """The Keras 3 serialized form ``{"module", "class_name", "config", "registered_name"}``."""
        return {"module": "keras.initializers", "class_name": self.class_name,
                "config": self.get_config(), "registered_name": None}

    @property
    def is_random(self) -> bool:
        return hasattr(self, "seed")

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        values.update(changes)
        return type(self)(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class _RandomSpec(_SpecBase):
    """A random initializer. ``advancing_seed`` marks a Keras ``SeedGenerator`` seed,
    which advances per call (a plain int seed gives identical values on every call)."""

    seed: int | None = None
    advancing_seed: bool = field(default=False, metadata=_NOT_CONFIG)

    def _seed_config(self) -> object:
        if self.advancing_seed and self.seed is not None:
            return {"module": "keras.random", "class_name": "SeedGenerator",
                    "config": {"seed": self.seed, "name": "seed_generator"},
                    "registered_name": None}
        return self.seed


@dataclass(frozen=True, slots=True, kw_only=True)
class VarianceScalingSpec(_RandomSpec):
    """``VarianceScaling(scale, mode, distribution, seed, input_axes, output_axes)`` and the
    six presets (``name`` = ``'glorot_uniform'`` ... ``'lecun_normal'``)."""

    name: str = "variance_scaling"
    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"
    input_axes: tuple[int, ...] | None = None
    output_axes: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        owner = CLASS_NAMES.get(self.name, "VarianceScaling")
        scale = real_arg("scale", self.scale, owner)
        if scale <= 0.0:
            raise InitializerArgumentError(
                f"{owner}: argument `scale` must be a positive float. Received: scale={shown(self.scale)}."
            )
        if self.mode not in MODES:
            hint = suggest(str(self.mode), MODES)
            if isinstance(self.mode, str) and self.mode.lower() in MODES:
                hint = self.mode.lower()
            extra = f" Did you mean {hint!r}? (mode is case-sensitive in Keras)" if hint else ""
            raise InitializerArgumentError(
                f"{owner}: invalid `mode` argument {shown(self.mode)}.{extra} "
                f"Valid modes: {format_choices(MODES)}."
            )
        if not isinstance(self.distribution, str):
            raise InitializerArgumentError(
                f"{owner}: argument `distribution` must be a string. Received: "
                f"distribution={shown(self.distribution)}. Valid: {format_choices(DISTRIBUTIONS)}."
            )
        dist = self.distribution.lower()
        dist = DISTRIBUTION_ALIASES.get(dist, dist)
        if dist not in DISTRIBUTIONS:
            hint = suggest(dist, [*DISTRIBUTIONS, *DISTRIBUTION_ALIASES])
            extra = f" Did you mean {DISTRIBUTION_ALIASES.get(hint, hint)!r}?" if hint else ""
            raise InitializerArgumentError(
                f"{owner}: invalid `distribution` argument {shown(self.distribution)}.{extra} "
                f"Valid distributions: {format_choices(DISTRIBUTIONS)} (and the legacy alias "
                f"'normal' = 'truncated_normal')."
            )
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "distribution", dist)
        object.__setattr__(self, "seed", seed_arg(self.seed, owner))
        used = self.input_axes is not None and self.output_axes is not None
        object.__setattr__(self, "input_axes", axes_arg(self.input_axes, "input_axes", owner, used))
        object.__setattr__(self, "output_axes",
                           axes_arg(self.output_axes, "output_axes", owner, used))
        if self.name in PRESETS and PRESETS[self.name] != (scale, self.mode, dist):
            object.__setattr__(self, "name", "variance_scaling")

    def get_config(self) -> dict[str, Any]:
        axes = {"input_axes": listify(self.input_axes), "output_axes": listify(self.output_axes)}
        if self.name in PRESETS:
            return {"seed": self._seed_config(), **axes}
        return {"seed": self._seed_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, **axes}


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomNormalSpec(_RandomSpec):
    """``RandomNormal(mean=0.0, stddev=0.05, seed=None)``: untruncated N(mean, stddev²)."""

    name: str = "random_normal"
    mean: float = 0.0
    stddev: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", real_arg("mean", self.mean, "RandomNormal"))
        object.__setattr__(self, "stddev", real_arg("stddev", self.stddev, "RandomNormal"))
        object.__setattr__(self, "seed", seed_arg(self.seed, "RandomNormal"))

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "mean": self.mean, "stddev": self.stddev}


@dataclass(frozen=True, slots=True, kw_only=True)
class TruncatedNormalSpec(_RandomSpec):
    """``TruncatedNormal(mean=0.0, stddev=0.05, seed=None)``: cut at mean ± 2·stddev
    (relative, unlike ``torch.nn.init.trunc_normal_``'s absolute ``a``/``b``)."""

    name: str = "truncated_normal"
    mean: float = 0.0
    stddev: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", real_arg("mean", self.mean, "TruncatedNormal"))
        object.__setattr__(self, "stddev", real_arg("stddev", self.stddev, "TruncatedNormal"))
        object.__setattr__(self, "seed", seed_arg(self.seed, "TruncatedNormal"))

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "mean": self.mean, "stddev": self.stddev}


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomUniformSpec(_RandomSpec):
    """``RandomUniform(minval=-0.05, maxval=0.05, seed=None)``: U[minval, maxval)."""

    name: str = "random_uniform"
    minval: float = -0.05
    maxval: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "minval", real_arg("minval", self.minval, "RandomUniform"))
        object.__setattr__(self, "maxval", real_arg("maxval", self.maxval, "RandomUniform"))
        object.__setattr__(self, "seed", seed_arg(self.seed, "RandomUniform"))

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "minval": self.minval, "maxval": self.maxval}


@dataclass(frozen=True, slots=True, kw_only=True)
class OrthogonalSpec(_RandomSpec):
    """``Orthogonal(gain=1.0, seed=None)``: a Haar-random frame on Keras's flattening."""

    name: str = "orthogonal"
    gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", real_arg("gain", self.gain, "Orthogonal"))
        object.__setattr__(self, "seed", seed_arg(self.seed, "Orthogonal"))

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "gain": self.gain}


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySpec(_SpecBase):
    """``Identity(gain=1.0)``: ``gain * eye(in, out)`` for 2-D kernels.

    Note: Keras 3's ``Identity.get_config()`` returns ``{}`` (the gain is lost on save);
    kerasinit keeps it.
    """

    name: str = "identity"
    gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", real_arg("gain", self.gain, "Identity"))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstantSpec(_SpecBase):
    """``Constant(value)``, ``Zeros()`` (name ``'zeros'``) and ``Ones()`` (name ``'ones'``).

    ``value`` is a float or a nested tuple (an array in Keras layout). ``exact_shape`` marks a
    Keras 3 ``get(array)`` initializer, which requires the requested shape to equal the array's.
    """

    name: str = "constant"
    value: ConstantValue = 0.0
    exact_shape: bool = field(default=False, metadata=_NOT_CONFIG)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", constant_value(self.value))

    def get_config(self) -> dict[str, Any]:
        if self.name in ("zeros", "ones"):
            return {}
        if isinstance(self.value, tuple):
            return {"value": listify_nested(self.value)}
        return {"value": self.value}


STFT_SIDES = ("imag", "real")
STFT_SCALINGS = ("density", "spectrum")


@dataclass(frozen=True, slots=True, kw_only=True)
class STFTSpec(_SpecBase):
    """``STFT(side='real', window='hann', scaling='density', periodic=False)`` (Keras >= 3.7)."""

    name: str = "stft"
    side: str = "real"
    window: str | tuple[float, ...] | None = "hann"
    scaling: str | None = "density"
    periodic: bool = False

    def __post_init__(self) -> None:
        if self.side not in STFT_SIDES:
            raise InitializerArgumentError(
                f"STFT: invalid `side` {shown(self.side)}. Valid: {format_choices(STFT_SIDES)}."
            )
        if self.scaling is not None and self.scaling not in STFT_SCALINGS:
            raise InitializerArgumentError(
                f"STFT: invalid `scaling` {shown(self.scaling)}. Valid: "
                f"{format_choices(STFT_SCALINGS)} or None."
            )
        if not isinstance(self.periodic, bool):
            raise InitializerArgumentError(
                f"STFT: argument `periodic` must be a bool. Received: periodic={shown(self.periodic)}."
            )
        window = self.window
        if window is not None and not isinstance(window, str):
            try:
                window = tuple(float(w) for w in window)  # type: ignore[union-attr]
            except (TypeError, ValueError):
                raise InitializerArgumentError(
                    f"STFT: `window` must be a window name, a 1-D sequence of floats or None. "
                    f"Received: window={shown(self.window)}."
                ) from None
        object.__setattr__(self, "window", window)

    def get_config(self) -> dict[str, Any]:
        window = list(self.window) if isinstance(self.window, tuple) else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}


Spec = (
    VarianceScalingSpec | RandomNormalSpec | TruncatedNormalSpec | RandomUniformSpec
    | OrthogonalSpec | IdentitySpec | ConstantSpec | STFTSpec
)


#: canonical name -> the spec class that holds it (the presets are VarianceScaling)
SPEC_CLASSES: dict[str, type[Spec]] = {
    **{name: VarianceScalingSpec for name in PRESETS},
    "variance_scaling": VarianceScalingSpec, "random_normal": RandomNormalSpec,
    "truncated_normal": TruncatedNormalSpec, "random_uniform": RandomUniformSpec,
    "orthogonal": OrthogonalSpec, "identity": IdentitySpec, "constant": ConstantSpec,
    "zeros": ConstantSpec, "ones": ConstantSpec, "stft": STFTSpec,
}
#: the fields a canonical name fixes (a preset's scale/mode/distribution, Zeros' value)
_FIXED: dict[str, tuple[str, ...]] = {
    **{name: ("scale", "mode", "distribution") for name in PRESETS},
    "zeros": ("value",), "ones": ("value",),
}


def config_keys(name: str) -> tuple[str, ...]:
    """The Keras config keys a canonical name accepts: its spec class's fields, in order.

    Example:
        >>> config_keys("random_normal"), config_keys("he_normal"), config_keys("zeros")
        (('seed', 'mean', 'stddev'), ('seed', 'input_axes', 'output_axes'), ())
    """
    fixed = _FIXED.get(name, ())
    return tuple(f.name for f in fields(SPEC_CLASSES[name])
                 if f.name != "name" and f.metadata.get("config", True) and f.name not in fixed)


