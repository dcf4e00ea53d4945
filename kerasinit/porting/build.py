"""``read(source)``: a saved Keras model -> :class:`~kerasinit.porting.plan.Plan`.

Steps: read the config (:mod:`~kerasinit.porting.readers`), pick the Keras version (the file's,
an override, or inferred from the config's form), walk the layers
(:mod:`~kerasinit.porting.walk`), list each layer's weights (:mod:`~kerasinit.porting.layers`)
and resolve every initializer on its Keras shape with that version's semantics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from kerasinit.bridge.interop import string_lookup_error
from kerasinit.mappings import layers as table
from kerasinit.mappings.errors import KerasInitError, UnknownInitializerError, shown
from kerasinit.mappings.parse import SPEC_TYPES, parse_identifier
from kerasinit.mappings.resolve import Resolved, resolve
from kerasinit.mappings.specs import Spec
from kerasinit.mappings.versions import KerasVersion, VersionLike, parse_version
from kerasinit.porting.hub_backbones import backbone_config, is_keras_hub, refusal
from kerasinit.porting.layerdefs import RefusedConfigError
from kerasinit.porting.layers import (
    FAMILIES,
    WEIGHTLESS,
    LayerCtx,
    WeightDef,
    weights_of,
)
from kerasinit.porting.plan import Plan, PlanLayer, PlanRow, Skipped
from kerasinit.porting.readers import Loaded, ModelFileError, load
from kerasinit.porting.replay import draw_order
from kerasinit.porting.rows import STATE_LAYERS
from kerasinit.porting.walk import MODEL_CLASSES, LayerRecord, walk

__all__ = ["CustomObjectError", "UnknownLayerError", "infer_version", "lost_gain_note", "read"]


class CustomObjectError(KerasInitError):
    """Initializers the file names that are not Keras built-ins and not in ``custom_objects``."""


class UnknownLayerError(KerasInitError):
    """A layer class kerasinit does not know, whose config names initializers."""


def read(
    source: object,
    *,
    keras_version: VersionLike = None,
    custom_objects: Mapping[str, object] | None = None,
    strict: bool = True,
) -> Plan:
    """Read a saved Keras model and plan its initialization.

    Args:
        source: a path to a ``.keras`` archive, a legacy ``.h5`` file or a ``.json`` file from
            ``model.to_json()``; a JSON string; or a config dict.
        keras_version: override the version the file records (it selects the fan semantics).
        custom_objects: custom initializer names -> a kerasinit identifier (``"he_normal"``, a
            config dict, a :class:`kerasinit.Initializer` or a spec).
        strict: raise for unknown weight-bearing layer classes; ``False`` lists them in
            ``plan.skipped`` instead.

    Returns:
        The :class:`~kerasinit.porting.plan.Plan`.

    Raises:
        ModelFileError: unreadable, malformed, oversized or non-model input.
        CustomObjectError: initializers that are neither built in nor in ``custom_objects``.
        UnknownLayerError: unknown weight-bearing layer classes (``strict=True``).

    Example:
        >>> plan = read({"class_name": "Sequential", "keras_version": "2.2.4", "config": {
        ...     "layers": [{"class_name": "Dense", "config": {"name": "fc", "units": 4,
        ...     "batch_input_shape": [None, 8]}}]}})
        >>> [(r.weight, r.keras_shape, r.initializer.name) for r in plan.rows]
        [('kernel', (8, 4), 'glorot_uniform'), ('bias', (4,), 'zeros')]
    """
    customs = _check_custom_objects(custom_objects)
    parse_version(keras_version)  # checked before the file is read
    if not isinstance(strict, bool):
        raise KerasInitError(f"`strict` must be True or False. Received: {shown(strict)}.")
    loaded = load(source)
    backbone = None
    expanded = backbone_config(loaded.config)  # a whitelisted keras_hub backbone's arguments
    if expanded is not None:
        backbone, loaded = loaded.config, dataclasses.replace(loaded, config=expanded)
    _check_top_level(loaded.config, loaded.origin)
    try:
        return _plan(loaded, keras_version, customs, strict, backbone)
    except KerasInitError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError,
            RecursionError) as exc:  # a malformed config: never a traceback from deep inside
        raise ModelFileError(
            f"{loaded.origin}: malformed model config ({type(exc).__name__}: {str(exc)[:200]}). "
            f"The file does not have the structure Keras writes."
        ) from None


def _check_custom_objects(custom_objects: object) -> dict[str, object]:
    """``custom_objects`` must be a mapping of names (strings) to identifiers."""
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, Mapping) or not all(
            isinstance(k, str) for k in custom_objects):
        raise CustomObjectError(
            f"`custom_objects` must be a dict mapping custom initializer names (strings) to a "
            f"kerasinit identifier (e.g. {{'MyInit': 'he_normal'}}). Received: "
            f"{shown(custom_objects)} (type {type(custom_objects).__name__})."
        )
    return dict(custom_objects)


def _plan(loaded: Loaded, keras_version: VersionLike, customs: dict[str, object],
          strict: bool, backbone: Mapping[str, Any] | None = None) -> Plan:
    version, version_source = infer_version(loaded.config, loaded.keras_version, keras_version)
    found = walk(loaded.config)
    layers: list[PlanLayer] = []
    skipped: list[Skipped] = []
    unknown_inits: dict[str, list[str]] = {}
    notes = list(found.notes)
    for record in found.records:
        ctx = LayerCtx(record.class_name, record.config, version, record.input_shape,
                       dict(record.extra_shapes))
        try:
            defs = weights_of(ctx)
        except RefusedConfigError as exc:
            raise RefusedConfigError(
                f"Layer {record.path!r} ({record.class_name}): {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise KerasInitError(
                f"Layer {record.path!r} ({record.class_name}) has a config kerasinit cannot "
                f"interpret: {exc!r}."
            ) from None
        if defs is None:
            keys = _initializer_keys(record.config)
            if keys:
                skipped.append(Skipped(record.path, record.class_name,
                                       f"unknown layer class with {', '.join(keys)}"))
            elif record.class_name in STATE_LAYERS:
                notes.append(f"{record.path} ({record.class_name}): its weights are state "
                             f"({STATE_LAYERS[record.class_name]}), not initialized")
            else:
                notes.append(f"{record.path} ({record.class_name}): unknown class without "
                             f"initializer keys; assumed to have no initialized weights")
            continue
        if not defs:
            continue
        rows = []
        for wdef in defs:
            spec = _spec(wdef.identifier, version, customs, unknown_inits, record.path)
            if spec is not None:
                rows.append(_row(record, wdef, spec, version))
        layers.append(PlanLayer(record.path, record.class_name, tuple(rows),
                                _options(record, version), record.wrapper, record.calls))
        if record.calls > 1:
            notes.append(f"{record.path} is shared ({record.calls} calls); its weights are "
                         f"created and initialized once")
    if unknown_inits:
        listed = "; ".join(f"{name!r} (in {', '.join(paths[:4])}{', ...' if len(paths) > 4 else ''})"
                           for name, paths in sorted(unknown_inits.items()))
        example = next(iter(sorted(unknown_inits)))
        raise CustomObjectError(
            f"The model uses initializers that are not Keras built-ins: {listed}. Custom code "
            f"in a file is never imported or run; map each name to a kerasinit initializer, "
            f"e.g. read(..., custom_objects={{{example!r}: 'he_normal'}})."
        )
    if skipped and strict:
        listed = "; ".join(f"{s.path!r} ({s.class_name}: {s.reason})" for s in skipped)
        raise UnknownLayerError(
            f"Unknown weight-bearing layer classes: {listed}. kerasinit cannot tell their weight "
            f"shapes; pass strict=False to plan the rest and list these as skipped."
        )
    return Plan(tuple(layers), version, version_source, loaded.origin, found.model_class,
                tuple(notes), tuple(skipped), tuple(found.nodes), found.outputs,
                draw_order=draw_order(loaded.config, found.records, version, layers,
                                      backbone=backbone))




def _check_top_level(config: Mapping[str, Any], origin: str) -> None:
    """A subclassed model or a non-model object at the top level is an error, not an empty plan."""

    cls = str(config.get("class_name"))
    if cls in MODEL_CLASSES or cls in FAMILIES or cls in WEIGHTLESS or cls in (
            "Bidirectional", "TimeDistributed", "RNN"):
        return
    inner = config.get("config")
    has_layers = isinstance(inner, Mapping) and isinstance(inner.get("layers"), list)
    if has_layers:
        return
    if is_keras_hub(config):
        raise refusal(config, origin)
    raise ModelFileError(
        f"{origin}: the top-level object is a {cls!r} with no layer list, so not a Sequential "
        f"or Functional model (a subclassed model's layers live in its Python code, which "
        f"kerasinit never runs; an initializer or other object is not a model). Save a "
        f"Sequential/Functional model, or initialize the torch side with "
        f"kerasinit.initialize(module, kernel_initializer=...)."
    )


def _initializer_keys(config: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in config if k.endswith("_initializer") or k in ("init", "inner_init"))


def _options(record: LayerRecord, version: KerasVersion) -> dict[str, Any]:
    cfg = record.config
    out: dict[str, Any] = {}
    if record.class_name in ("LSTM", "LSTMCell", "CuDNNLSTM", "ConvLSTM1D", "ConvLSTM2D",
                             "ConvLSTM3D"):
        if version.major == 1:
            out["unit_forget_bias"] = cfg.get("forget_bias_init", "one") in ("one", "ones")
        else:
            out["unit_forget_bias"] = bool(cfg.get("unit_forget_bias", True))
    if record.class_name in ("GRU", "GRUCell"):
        out["reset_after"] = bool(cfg.get("reset_after", table.gru_reset_after(version)))
    for key in ("depth_multiplier", "num_heads", "groups"):
        if key in cfg:
            out[key] = cfg[key]
    return out


def _custom_name(identifier: object) -> list[str]:
    if isinstance(identifier, str):
        return [identifier]
    if isinstance(identifier, Mapping):
        names = [str(identifier.get("class_name"))]
        reg = identifier.get("registered_name")
        if isinstance(reg, str) and reg:
            names.insert(0, reg)
        return names
    return []


def _spec(identifier: object, version: KerasVersion, customs: dict[str, object],
          unknown: dict[str, list[str]], path: str) -> Spec | None:
    for name in _custom_name(identifier):
        if name in customs:
            if isinstance(identifier, str) and not version.custom_names_by_string:
                raise CustomObjectError(f"{path}: {string_lookup_error(name)}")
            return _custom_spec(name, customs[name], version)
    try:
        return parse_identifier(identifier, version)
    except UnknownInitializerError:
        name = _custom_name(identifier)[-1] if _custom_name(identifier) else repr(identifier)
        unknown.setdefault(name, []).append(path)
        return None


def _custom_spec(name: str, value: object, version: KerasVersion) -> Spec:
    spec = getattr(value, "spec", None)  # a kerasinit Initializer
    if isinstance(spec, SPEC_TYPES):
        return spec
    try:
        return parse_identifier(value, version)
    except KerasInitError as exc:
        raise CustomObjectError(f"custom_objects[{name!r}] = {value!r} is not usable: {exc}") from None


def lost_gain_note(identifier: object, version: KerasVersion) -> str:
    """The plan note for an ``Identity`` config saved without its gain by Keras 3.0-3.15.

    Example:
        >>> from kerasinit.mappings.versions import parse_version
        >>> lost_gain_note({"class_name": "Identity", "config": {}}, parse_version("3.15"))[:40]
        "Keras 3.15 does not save Identity's gain"
        >>> lost_gain_note({"class_name": "Identity", "config": {}}, parse_version("3.16"))
        ''
    """
    if version.identity_config_has_gain or not isinstance(identifier, Mapping):
        return ""
    name = identifier.get("class_name")
    config = identifier.get("config")
    if name not in ("Identity", "IdentityInitializer") or (
            isinstance(config, Mapping) and "gain" in config):
        return ""
    return (f"{version.label()} does not save Identity's gain (get_config() is {{}}): gain 1.0 "
            f"is assumed; a model built with another gain reloads with 1.0 in Keras too "
            f"(Keras 3.16 saves it)")


def _row(record: LayerRecord, wdef: WeightDef, spec: Spec, version: KerasVersion) -> PlanRow:
    resolved: Resolved | None = None
    note = "; ".join(n for n in (wdef.note, lost_gain_note(wdef.identifier, version)) if n)
    shape = wdef.shape
    if shape is not None and not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                     for d in shape):
        raise KerasInitError(
            f"Layer {record.path!r} ({record.class_name}): its config gives {wdef.weight} the "
            f"shape {shape}, which is not a valid shape (check the layer's size arguments)."
        )
    if shape is not None:
        block = shape if wdef.blocks == 1 else (*shape[:-1], shape[-1] // wdef.blocks)
        try:
            resolved = resolve(spec, block, version, fans=wdef.fans, einsum_axes=wdef.einsum_axes)
        except KerasInitError as exc:
            note = (note + "; " if note else "") + f"cannot resolve: {exc}"
    else:
        note = (note + "; " if note else "") + "shape unknown: the file records no input shape"
    return PlanRow(record.path, record.class_name, wdef.weight, wdef.role, wdef.keyword, shape,
                   spec, resolved, version, wdef.einsum_axes, wdef.blocks, wdef.fans, note)


def _iter_dicts(obj: object, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    if depth > 200:
        return
    if isinstance(obj, Mapping):
        yield obj
        for v in obj.values():
            yield from _iter_dicts(v, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            yield from _iter_dicts(v, depth + 1)


_VS_CLASSES = frozenset({"VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform",
                         "HeNormal", "LecunUniform", "LecunNormal"})


def infer_version(
    config: Mapping[str, Any], recorded: str | None, override: VersionLike
) -> tuple[KerasVersion, str]:
    """The Keras version whose semantics apply, and where it came from.

    The override wins, then the version the file records. Keras 3 ``to_json()`` records none:
    its form (``module``/``registered_name`` keys) says Keras 3, an Identity config with a
    ``gain`` says 3.16 (3.0-3.15 save ``{}``), and a VarianceScaling config without
    ``input_axes`` says it predates 3.15. Keras 1 files are recognised by ``init`` keys.

    Example:
        >>> v, why = infer_version({"class_name": "Sequential", "config": []}, "2.0.8", None)
        >>> str(v), why
        ('2.0.8', "recorded in the file: '2.0.8'")
    """
    if override is not None:
        v = parse_version(override)
        extra = f"; the file records {recorded!r}" if recorded else ""
        return v, f"keras_version={str(override)!r} override{extra}"
    if recorded:
        return parse_version(recorded), f"recorded in the file: {recorded!r}"
    dicts = list(_iter_dicts(config))
    if any("module" in d and "registered_name" in d for d in dicts):
        if any(d.get("class_name") in ("Identity", "IdentityInitializer") and isinstance(
                d.get("config"), Mapping) and "gain" in d["config"] for d in dicts):
            return parse_version("3.16"), ("not recorded; Keras 3 form with an Identity config "
                                           "that stores gain: Keras 3.16 semantics")
        vs = [d for d in dicts if d.get("class_name") in _VS_CLASSES and isinstance(d.get("config"), Mapping)]
        if vs and not any("input_axes" in d["config"] for d in vs):
            return parse_version("3.14"), ("not recorded; Keras 3 form without input_axes keys: "
                                           "Keras 3.0-3.14 semantics")
        return parse_version("3"), "not recorded; Keras 3 form: latest Keras 3 semantics"
    if any("init" in d or "inner_init" in d or ("output_dim" in d and "units" not in d)
           for d in dicts if d.get("name") is not None):
        return parse_version("1"), "not recorded; Keras 1 config keys (init/output_dim)"
    return parse_version("3"), "not recorded; assuming the latest Keras 3 (pass keras_version=)"
