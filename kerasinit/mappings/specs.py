"""Frozen spec objects: one per Keras initializer class, with Keras's arguments and checks.

A spec says *what Keras was asked for* (``VarianceScaling(scale=2, mode="fan_in", ...)``),
independent of any tensor. Arguments are validated here, at construction, as Keras does in
``__init__``; nothing is checked later at sampling time.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields
from typing import Any, Literal

from kerasinit.mappings.errors import InitializerArgumentError, format_choices, shown, suggest

__all__ = [
    "DISTRIBUTIONS",
    "MODES",
    "SEED_MAX",
    "SEED_MIN",
    "ConstantSpec",
    "IdentitySpec",
    "OrthogonalSpec",
    "RandomNormalSpec",
    "RandomUniformSpec",
    "STFTSpec",
    "Spec",
    "TruncatedNormalSpec",
    "VarianceScalingSpec",
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


#: Keras hands seeds to its backend as int64 (``[seed, 0]``); values outside are refused.
SEED_MIN, SEED_MAX = -(1 << 63), (1 << 63) - 1


def _real(name: str, value: object, owner: str) -> float:
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


def _seed(value: object, owner: str) -> int | None:
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


def _axes(value: object, name: str, owner: str, used: bool) -> tuple[int, ...] | None:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _SpecBase:
    """Shared behaviour: canonical ``name``, Keras ``class_name`` and ``get_config``."""

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
    advancing_seed: bool = False

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
        scale = _real("scale", self.scale, owner)
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
        object.__setattr__(self, "seed", _seed(self.seed, owner))
        used = self.input_axes is not None and self.output_axes is not None
        object.__setattr__(self, "input_axes", _axes(self.input_axes, "input_axes", owner, used))
        object.__setattr__(self, "output_axes", _axes(self.output_axes, "output_axes", owner, used))
        if self.name in PRESETS and PRESETS[self.name] != (scale, self.mode, dist):
            object.__setattr__(self, "name", "variance_scaling")

    def get_config(self) -> dict[str, Any]:
        axes = {"input_axes": _listify(self.input_axes), "output_axes": _listify(self.output_axes)}
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
        object.__setattr__(self, "mean", _real("mean", self.mean, "RandomNormal"))
        object.__setattr__(self, "stddev", _real("stddev", self.stddev, "RandomNormal"))
        object.__setattr__(self, "seed", _seed(self.seed, "RandomNormal"))

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
        object.__setattr__(self, "mean", _real("mean", self.mean, "TruncatedNormal"))
        object.__setattr__(self, "stddev", _real("stddev", self.stddev, "TruncatedNormal"))
        object.__setattr__(self, "seed", _seed(self.seed, "TruncatedNormal"))

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "mean": self.mean, "stddev": self.stddev}


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomUniformSpec(_RandomSpec):
    """``RandomUniform(minval=-0.05, maxval=0.05, seed=None)``: U[minval, maxval)."""

    name: str = "random_uniform"
    minval: float = -0.05
    maxval: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "minval", _real("minval", self.minval, "RandomUniform"))
        object.__setattr__(self, "maxval", _real("maxval", self.maxval, "RandomUniform"))
        object.__setattr__(self, "seed", _seed(self.seed, "RandomUniform"))

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._seed_config(), "minval": self.minval, "maxval": self.maxval}


@dataclass(frozen=True, slots=True, kw_only=True)
class OrthogonalSpec(_RandomSpec):
    """``Orthogonal(gain=1.0, seed=None)``: a Haar-random frame on Keras's flattening."""

    name: str = "orthogonal"
    gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", _real("gain", self.gain, "Orthogonal"))
        object.__setattr__(self, "seed", _seed(self.seed, "Orthogonal"))

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
        object.__setattr__(self, "gain", _real("gain", self.gain, "Identity"))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


ConstantValue = float | tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstantSpec(_SpecBase):
    """``Constant(value)``, ``Zeros()`` (name ``'zeros'``) and ``Ones()`` (name ``'ones'``).

    ``value`` is a float or a nested tuple (an array in Keras layout). ``exact_shape`` marks a
    Keras 3 ``get(array)`` initializer, which requires the requested shape to equal the array's.
    """

    name: str = "constant"
    value: ConstantValue = 0.0
    exact_shape: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _constant_value(self.value))

    def get_config(self) -> dict[str, Any]:
        if self.name in ("zeros", "ones"):
            return {}
        if isinstance(self.value, tuple):
            return {"value": _listify_nested(self.value)}
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


def _listify(axes: tuple[int, ...] | None) -> list[int] | None:
    return None if axes is None else list(axes)


def _listify_nested(value: object) -> object:
    if isinstance(value, tuple):
        return [_listify_nested(v) for v in value]
    return value


#: Deepest nesting accepted for a Constant array (Keras kernels have rank <= 5; a config
#: nested deeper is refused with an error, never a RecursionError).
MAX_ARRAY_RANK = 32


def _constant_value(value: object) -> ConstantValue:
    """A float, or a nested tuple of floats for array values (numpy/list/tensor-like).

    Numbers follow :func:`_real` (NaN and infinities pass as Keras lets them; integers beyond
    float64 are refused). Arrays must be rectangular (Keras cannot convert ragged lists) and
    at most ``MAX_ARRAY_RANK`` deep.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return _real("value", value, "Constant")
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        inner = value.get("config")
        return _constant_value(inner.get("value") if isinstance(inner, dict) else inner)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        value = tolist()
    if isinstance(value, (list, tuple)):
        out, _ = _nest(value, 1)
        return out  # type: ignore[no-any-return]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _real("value", value, "Constant")
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
        return _real("value", value, "Constant"), ()
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
