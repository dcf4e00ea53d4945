"""Identifiers -> specs: names, serialized configs (Keras 1/2/3), JSON, Keras objects.

Files from users are data: nothing here imports a module named in a config or executes code.
Keras objects are read through ``type(obj).__name__`` and ``obj.get_config()`` only (duck-typed,
Keras is never imported).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from kerasinit.mappings import safejson
from kerasinit.mappings.errors import (
    InitializerArgumentError,
    UnknownInitializerError,
    UnsupportedInitializerError,
    format_choices,
    shown,
    suggest,
)
from kerasinit.mappings.specs import (
    PRESETS,
    SPEC_CLASSES,
    ConstantSpec,
    Spec,
    VarianceScalingSpec,
    config_keys,
)
from kerasinit.mappings.table import REFUSED, ROWS, TORCH_SYNONYMS, all_names
from kerasinit.mappings.versions import KerasVersion

__all__ = [
    "SPEC_TYPES", "canonical_name", "object_version", "parse_identifier", "spec_from_config",
]

#: every spec class (``isinstance(x, SPEC_TYPES)``: x is a spec)
SPEC_TYPES: tuple[type[Spec], ...] = tuple(dict.fromkeys(SPEC_CLASSES.values()))

#: config keys each canonical name accepts: the fields of its spec class
_CONFIG_KEYS: dict[str, tuple[str, ...]] = {name: config_keys(name) for name in SPEC_CLASSES}
#: keys that old files carry and that change nothing: dropped with a warning.
_STRAY_KEYS: dict[str, str] = {
    "dtype": "TF1-era configs carry the variable dtype; the tensor's dtype is used instead",
    "data_format": "Keras 2.0 development configs; kernels are channels-last in every version",
}
_IGNORED_KEYS = ("name",)  # harmless metadata some serializers add


def canonical_name(name: str) -> str:
    """The canonical snake_case name for any accepted name.

    Raises:
        UnknownInitializerError: with a did-you-mean that knows torch synonyms.
        UnsupportedInitializerError: for names Keras registers without a distribution.

    Example:
        >>> canonical_name("HeNormal"), canonical_name("normal"), canonical_name("glorot_uniformV2")
        ('he_normal', 'random_normal', 'glorot_uniform')
    """
    names = all_names()
    if name in names:
        return names[name]
    if name in REFUSED:
        raise UnsupportedInitializerError(
            f"Keras initializer {shown(name)} cannot be used: {REFUSED[name]}. "
            f"Valid names: {format_choices(ROWS)}."
        )
    raise UnknownInitializerError(_unknown_message(name))


def _unknown_message(name: str) -> str:
    hint = _did_you_mean(name)
    text = f"Unknown Keras initializer {shown(name)}."
    if hint:
        text += f" Did you mean {hint}?"
    return (text + f" Valid names: {format_choices(ROWS)} (plus their Keras class names and "
            "aliases; see `kerasinit table`).")


def _did_you_mean(name: str) -> str | None:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    for suffix in ("_", "_initializer", "initializer"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    key = key.removeprefix("torch.nn.init.").removeprefix("nn.init.")
    key = key.removeprefix("keras.initializers.")
    if key in TORCH_SYNONYMS:
        target, why = TORCH_SYNONYMS[key]
        return f"{target!r} ({why})"
    names = all_names()
    folded = {n.lower().replace("_", ""): c for n, c in names.items()}
    if key.replace("_", "") in folded:
        target = folded[key.replace("_", "")]
        why = "Keras matches names exactly, without surrounding spaces" if name != name.strip() \
            else "names are case-sensitive in Keras"
        return f"{target!r} ({why})"
    close = suggest(key, list(ROWS) + list(TORCH_SYNONYMS))
    if close is None:
        return None
    if close in TORCH_SYNONYMS:
        target, why = TORCH_SYNONYMS[close]
        return f"{target!r} ({why})"
    return repr(close)


def parse_identifier(identifier: object, version: KerasVersion) -> Spec:
    """Turn any accepted identifier into a spec.

    Args:
        identifier: a name (``'he_normal'``, ``'HeNormal'``, ``'normal'``), a serialized dict in
            any Keras 1/2/3 form, a JSON string of one, a Keras/tf_keras initializer object or
            class (duck-typed), a spec, or an array (Keras 3's ``get(array)``: a constant that
            requires the exact shape).
        version: the Keras version whose semantics apply.

    Returns:
        The validated spec.

    Raises:
        UnknownInitializerError, UnsupportedInitializerError, InitializerArgumentError.
    """
    if isinstance(identifier, SPEC_TYPES):
        return identifier
    if isinstance(identifier, str):
        text = identifier.strip()
        if text.startswith("{"):
            try:
                data = safejson.loads(text)
            except json.JSONDecodeError as exc:
                raise InitializerArgumentError(
                    f"Could not parse the initializer JSON string {shown(identifier, 80)}: "
                    f"{exc.msg} at position {exc.pos}."
                ) from None
            except (safejson.JSONLimitError, ValueError) as exc:  # too deep/large, or 10**5000
                raise InitializerArgumentError(
                    f"Refusing the initializer JSON string {shown(identifier, 80)}: {exc}"
                ) from None
            if not isinstance(data, Mapping):
                raise InitializerArgumentError(
                    f"An initializer JSON string must hold an object (a config dict). Received: "
                    f"{shown(identifier, 80)}."
                )
            return spec_from_config(data, version)
        # the name as given: Keras matches names exactly (" he_normal" is unknown to it)
        return spec_from_config({"class_name": identifier, "config": {}}, version,
                                from_string=True)
    if isinstance(identifier, Mapping):
        return spec_from_config(identifier, version)
    if identifier is None:
        raise InitializerArgumentError(
            "Initializer identifier is None. Pass a name such as 'glorot_uniform', a config "
            "dict, a JSON string or a Keras initializer object."
        )
    if _is_array(identifier):
        return ConstantSpec(value=identifier.tolist(), exact_shape=True)  # type: ignore[attr-defined]
    return _from_keras_object(identifier, version)


def _is_array(obj: object) -> bool:
    return (hasattr(obj, "shape") and hasattr(obj, "dtype") and callable(getattr(obj, "tolist", None))
            and not callable(getattr(obj, "get_config", None)))


def _from_keras_object(obj: object, version: KerasVersion) -> Spec:
    cls = obj if isinstance(obj, type) else type(obj)
    get_config = getattr(obj, "get_config", None)
    if not callable(get_config):
        raise UnknownInitializerError(
            f"Cannot interpret initializer identifier {shown(obj)} (type {cls.__name__}): expected a "
            f"name, a config dict, a JSON string or a Keras initializer object with get_config()."
        )
    config: dict[str, Any] = {} if isinstance(obj, type) else dict(get_config())
    class_name = cls.__name__
    if canonical_name_or_none(class_name) == "identity" and not isinstance(obj, type):
        # Keras 3's Identity.get_config() drops the gain; read it from the object.
        gain = getattr(obj, "gain", None)
        if gain is not None:
            config.setdefault("gain", float(gain))
    return spec_from_config({"class_name": class_name, "config": config}, version,
                            from_object=True)


def object_version(obj: object) -> KerasVersion | None:
    """Keras 2 for tf_keras / old tf.keras initializer objects (by module name), else None.

    Example:
        >>> object_version("he_normal") is None
        True
    """
    if isinstance(obj, (str, Mapping)) or obj is None:
        return None
    cls = obj if isinstance(obj, type) else type(obj)
    module = getattr(cls, "__module__", "") or ""
    if module.startswith("tf_keras") or "initializers_v2" in module or "initializers_v1" in module:
        return KerasVersion(2, tf=True)
    return None


def canonical_name_or_none(name: str) -> str | None:
    return all_names().get(name)


def spec_from_config(
    data: Mapping[str, Any],
    version: KerasVersion,
    *,
    from_string: bool = False,
    from_object: bool = False,
) -> Spec:
    """Build a spec from ``{"class_name": ..., "config": {...}}`` (any Keras form).

    ``module``, ``registered_name`` and ``shared_object_id`` keys are ignored. A stray ``dtype``
    (TF1-era files) or ``data_format`` key is dropped with a warning.
    """
    if "class_name" not in data:
        raise InitializerArgumentError(
            f"An initializer config needs a 'class_name' key. Received keys: "
            f"{format_choices((str(k)[:40] for k in data), limit=12) or '(none)'}."
        )
    class_name = data["class_name"]
    if not isinstance(class_name, str):
        raise InitializerArgumentError(
            f"'class_name' must be a string. Received: {shown(class_name)}."
        )
    raw_config = data.get("config") or {}
    if not isinstance(raw_config, Mapping):
        raise InitializerArgumentError(
            f"'config' of {shown(class_name)} must be a dict. Received: {shown(raw_config)}."
        )
    name = canonical_name(class_name)
    if name == "stft" and not version.has_stft:
        raise UnsupportedInitializerError(
            f"STFT exists only from Keras 3.7; keras_version={str(version)!r} has no STFT "
            f"initializer."
        )
    config = _clean_config(name, class_name, dict(raw_config), quiet=from_object)
    return _build(name, config, version, from_string=from_string)


def _clean_config(name: str, class_name: str, config: dict[str, Any], quiet: bool) -> dict[str, Any]:
    valid = _CONFIG_KEYS[name]
    for key in list(config):
        if not isinstance(key, str):
            raise InitializerArgumentError(
                f"Config keys must be strings. Received key {shown(key)} (type "
                f"{type(key).__name__}) in the {class_name} config. Valid keys: "
                f"{format_choices(valid) if valid else '(none)'}."
            )
        if key in valid:
            continue
        if key in _STRAY_KEYS or key in _IGNORED_KEYS:
            value = config.pop(key)
            if key in _STRAY_KEYS and not quiet:
                warnings.warn(
                    f"Ignoring {key}={shown(value)} in the {class_name} config ({_STRAY_KEYS[key]}). "
                    f"Keras 3 cannot load this config; kerasinit reads it unambiguously.",
                    UserWarning, stacklevel=4,
                )
            continue
        hint = suggest(key, valid)
        extra = f" Did you mean {hint!r}?" if hint else ""
        raise InitializerArgumentError(
            f"Unexpected config key {shown(key)} for {class_name}.{extra} Valid keys: "
            f"{format_choices(valid) if valid else '(none)'}."
        )
    if "seed" in config:
        config["seed"], config["advancing_seed"] = _read_seed(config["seed"], class_name)
    return config


def _read_seed(seed: object, class_name: str) -> tuple[object, bool]:
    if isinstance(seed, Mapping):
        if seed.get("class_name") != "SeedGenerator":
            raise InitializerArgumentError(
                f"{class_name}: a dict seed must be a Keras SeedGenerator config. Received: "
                f"{shown(seed)}."
            )
        inner = seed.get("config") or {}
        if not isinstance(inner, Mapping):
            raise InitializerArgumentError(
                f"{class_name}: the SeedGenerator's 'config' must be a dict with a 'seed'. "
                f"Received: {shown(inner)}."
            )
        return inner.get("seed"), True
    return seed, False


def _build(name: str, config: dict[str, Any], version: KerasVersion, *, from_string: bool) -> Spec:
    try:
        if name in PRESETS:
            scale, mode, dist = PRESETS[name]
            return VarianceScalingSpec(name=name, scale=scale, mode=mode, distribution=dist,
                                       **config)
        if name in ("zeros", "ones"):
            return ConstantSpec(name=name, value=1.0 if name == "ones" else 0.0)
        if name == "orthogonal" and from_string and "gain" not in config:
            config["gain"] = version.orthogonal_default_gain
        return SPEC_CLASSES[name](**config)
    except TypeError as exc:  # a missing/unexpected keyword the key check did not catch
        raise InitializerArgumentError(f"Bad config for {name!r}: {shown(str(exc))}.") from None
