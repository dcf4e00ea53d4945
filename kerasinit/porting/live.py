"""``read(keras_model)``: plan a LIVE Keras model object (Keras 3, including keras_hub backbones).

A live model needs no saved config: the reader walks its layers and sublayers recursively
(``Model.layers`` for models, the directly tracked sublayers for other layers; Keras 3.15 has no
public recursive walk), gives every layer kerasinit knows the same plan rows a saved file gives
(the initializers from the layer's own ``get_config()``), takes each weight's Keras shape from the
built variable, and records the seed each initializer object drew: an unseeded Keras 3
``RandomInitializer`` draws ``seed = random.randint(1, 10**9)`` when it is constructed and keeps
it in ``.seed``, while ``get_config()`` still says ``seed=None``. That seed is
:attr:`PlanRow.live_seed <kerasinit.porting.plan.PlanRow.live_seed>`.

Layers kerasinit has no rule for are walked into: their sublayers are read, and weights a layer
creates itself are planned from its ``<weight>_initializer`` attribute (or its only initializer
attribute, with a note); a weight with no initializer in sight is listed in ``plan.skipped``
(``strict=True`` raises), never dropped in silence.

Keras is never imported here: a Keras object is recognised by its class hierarchy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.versions import KerasVersion, VersionLike, parse_version
from kerasinit.porting import build
from kerasinit.porting.layerdefs import LayerCtx, WeightDef
from kerasinit.porting.layers import FAMILIES, WRAPPERS
from kerasinit.porting.live_walk import (
    Found,
    Walker,
    build_shapes,
    is_keras_object,
    keras_root,
    layer_config,
    layer_weights,
    sublayers,
    var_name,
    var_shape,
)
from kerasinit.porting.plan import Plan, PlanLayer, PlanRow, Skipped
from kerasinit.porting.rows import STATE_LAYERS
from kerasinit.porting.walk import LayerRecord, walk

__all__ = ["is_keras_object", "read", "read_live"]


def read(
    source: object,
    *,
    keras_version: VersionLike = None,
    custom_objects: Mapping[str, object] | None = None,
    strict: bool = True,
) -> Plan:
    """Plan the initialization of a Keras model: a saved file, a config, or a live model object.

    Args:
        source: a live Keras model or layer (see :func:`read_live`); or a path to a ``.keras``
            archive, a legacy ``.h5`` file or a ``.json`` file from ``model.to_json()``, a JSON
            string, or a config dict (see :func:`kerasinit.porting.build.read`).
        keras_version: override the Keras version whose semantics apply.
        custom_objects: custom initializer names -> a kerasinit identifier.
        strict: raise for weights kerasinit cannot plan; ``False`` lists them in
            ``plan.skipped``.

    Returns:
        The :class:`~kerasinit.porting.plan.Plan`.

    Example:
        >>> plan = read({"class_name": "Sequential", "keras_version": "2.2.4", "config": {
        ...     "layers": [{"class_name": "Dense", "config": {"name": "fc", "units": 4,
        ...     "batch_input_shape": [None, 8]}}]}})
        >>> [(r.weight, r.keras_shape) for r in plan.rows]
        [('kernel', (8, 4)), ('bias', (4,))]
    """
    if is_keras_object(source):
        return read_live(source, keras_version=keras_version, custom_objects=custom_objects,
                         strict=strict)
    return build.read(source, keras_version=keras_version, custom_objects=custom_objects,
                      strict=strict)


def _version_of(model: object, override: VersionLike) -> tuple[KerasVersion, str]:
    root = next((r for c in type(model).__mro__ if (r := keras_root(c))), "keras")
    module = sys.modules.get(root)
    running = getattr(module, "__version__", None)
    if override is not None:
        return parse_version(override), (f"keras_version={str(override)!r} override; the model "
                                         f"was built by {root} {running}")
    if not isinstance(running, str):
        return parse_version(None), f"{root} version unknown: latest Keras 3 semantics"
    text = f"{running}-tf" if root == "tf_keras" else running
    return parse_version(text), f"the running {root} {running}"


def read_live(
    model: Any,
    *,
    keras_version: VersionLike = None,
    custom_objects: Mapping[str, object] | None = None,
    strict: bool = True,
) -> Plan:
    """Plan a live Keras model or layer: built shapes, initializers, live seeds.

    Rows are those a saved file of the same model gives (same layer paths, weight names,
    initializer specs from each layer's ``get_config()``); in addition each row has
    ``keras_shape`` from the built variable, ``variable_path`` (``Variable.path``) and
    ``live_seed`` (the seed the initializer object holds, for random initializers).

    Args:
        model: a Keras 3 model or layer (``Sequential``, functional, subclassed, a keras_hub
            ``Backbone``), preferably built.
        keras_version: the semantics to apply; default: the running Keras's version.
        custom_objects: custom initializer class names -> a kerasinit identifier.
        strict: raise :class:`~kerasinit.porting.build.UnknownLayerError` for weights with no
            initializer in sight; ``False`` lists them in ``plan.skipped``.

    Returns:
        The :class:`~kerasinit.porting.plan.Plan`.
    """
    version, version_source = _version_of(model, keras_version)
    walker = Walker()
    try:
        walker.visit(model, "", 0, top=True)
        return _plan(model, walker, version, version_source, dict(custom_objects or {}), strict)
    except KerasInitError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        raise KerasInitError(
            f"Cannot read the live {type(model).__name__} {getattr(model, 'name', '')!r}: "
            f"{type(exc).__name__}: {str(exc)[:200]}."
        ) from None


def _plan(model: Any, walker: Walker, version: KerasVersion, version_source: str,
          customs: dict[str, object], strict: bool) -> Plan:
    layers: list[PlanLayer] = []
    skipped: list[Skipped] = []
    notes: list[str] = []
    unknown_inits: dict[str, list[str]] = {}
    for found in walker.found:
        actual = type(found.layer).__name__
        if found.family is not None and found.family != actual:
            note = (f"{actual} layers are read with the rule of their built-in base class "
                    f"{found.family}")
            if note not in notes:
                notes.append(note)
        if found.family is None:
            rows, missing = _own_rows(found, version, customs, unknown_inits, notes)
        else:
            rows, missing = _leaf_rows(found, version, customs, unknown_inits, notes)
        if missing:
            skipped.append(Skipped(found.path, type(found.layer).__name__,
                                   "weights with no initializer kerasinit can read: "
                                   + ", ".join(missing)))
        if rows:
            record = _record(found, version)
            layers.append(PlanLayer(found.path, rows[0].class_name, tuple(rows),
                                    build._options(record, version), found.wrapper, found.calls))
        if found.calls > 1:
            notes.append(f"{found.path} is shared ({found.calls} uses); its weights are created "
                         f"and initialized once")
    if unknown_inits:
        listed = "; ".join(f"{n!r} (in {', '.join(p[:4])})"
                           for n, p in sorted(unknown_inits.items()))
        raise build.CustomObjectError(
            f"The model uses initializers that are not Keras built-ins: {listed}. Map each class "
            f"name to a kerasinit initializer, e.g. read(model, custom_objects="
            f"{{{next(iter(sorted(unknown_inits)))!r}: 'he_normal'}}).")
    if skipped and strict:
        listed = "; ".join(f"{s.path!r} ({s.class_name}: {s.reason})" for s in skipped)
        raise build.UnknownLayerError(
            f"Weights kerasinit cannot plan: {listed}. Pass strict=False to plan the rest and "
            f"list these in plan.skipped, or custom_objects= for custom initializer classes.")
    name = str(getattr(model, "name", "") or "")
    source = f"live {type(model).__name__} {name!r}"
    nodes, outputs = _graph(model)
    return Plan(tuple(layers), version, version_source, source, type(model).__name__,
                tuple(notes), tuple(skipped), nodes, outputs)


def _graph(model: Any) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """The data-flow graph of Keras's own ``Functional``/``Sequential`` classes, from their
    ``get_config()`` (data, walked as a saved config is); none for subclassed models, whose
    config is their constructor arguments."""
    cls = type(model)
    if cls.__name__ not in ("Functional", "Sequential") or \
            not cls.__module__.startswith(("keras.", "tf_keras.")):
        return (), ()
    try:
        # as a saved file holds it: JSON data (tuples become lists, objects their text)
        config = json.loads(json.dumps(model.get_config(), default=str))
        found = walk({"class_name": cls.__name__, "config": config})
    except (KerasInitError, TypeError, ValueError, AttributeError, KeyError, IndexError,
            RecursionError):
        return (), ()
    return tuple(found.nodes), tuple(found.outputs)


def _record(found: Found, version: KerasVersion) -> LayerRecord:
    config = (layer_config(found.layer) if found.family else None) or {}
    shape, extra = build_shapes(found.layer)
    name = str(getattr(found.layer, "name", ""))
    return LayerRecord(found.path, name, found.family or type(found.layer).__name__, config,
                       shape, extra, found.wrapper, found.calls)


def _match(defs: list[WeightDef], variables: list[Any]) -> list[Any | None]:
    """The built variable of each weight: by name, then the remaining ones in order."""
    out: list[Any | None] = [None] * len(defs)
    free = list(variables)
    for i, d in enumerate(defs):
        for v in free:
            n = var_name(v)
            if n == d.weight or n.endswith("/" + d.weight):
                out[i] = v
                free.remove(v)
                break
    for i, d in enumerate(defs):
        if out[i] is None:
            for v in free:
                if d.shape is None or var_shape(v) == d.shape:
                    out[i] = v
                    free.remove(v)
                    break
    return out


def _initializer_object(layer: Any, wdef: WeightDef) -> Any:
    """The live initializer object behind a weight (``query/kernel`` -> ``query`` sublayer)."""
    holder = layer
    if "/" in wdef.weight:
        sub = wdef.weight.rsplit("/", 1)[0]
        holder = next((c for c in sublayers(layer) if getattr(c, "name", None) == sub), None)
    elif getattr(layer, "cell", None) is not None and wdef.role != "reverse_embeddings":
        holder = layer.cell
    if holder is None or not wdef.keyword:
        return None
    return getattr(holder, wdef.keyword, None)


def _live_seed(obj: Any) -> int | None:
    seed = getattr(obj, "seed", None)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _leaf_rows(found: Found, version: KerasVersion, customs: dict[str, object],
               unknown: dict[str, list[str]], notes: list[str]) -> tuple[list[PlanRow], list[str]]:
    record = _record(found, version)
    ctx = LayerCtx(record.class_name, record.config, version, record.input_shape,
                   dict(record.extra_shapes))
    defs = FAMILIES[record.class_name](ctx)
    variables = found.own if found.family in WRAPPERS else layer_weights(found.layer)
    matched = _match(defs, variables)
    rows: list[PlanRow] = []
    for wdef, var in zip(defs, matched, strict=True):
        if var is not None:
            wdef = replace(wdef, shape=var_shape(var))
        elif variables:
            continue  # a weight this configuration does not create
        spec = build._spec(wdef.identifier, version, customs, unknown, found.path)
        if spec is None:
            continue
        row = build._row(record, wdef, spec, version)
        if var is None:
            row = replace(row, note=(row.note + "; " if row.note else "")
                          + "layer not built: shape from the config")
        rows.append(replace(row, live_seed=_live_seed(_initializer_object(found.layer, wdef)),
                            variable_path=var_name(var) if var is not None else ""))
    used = {id(v) for v in matched if v is not None}
    missing = [f"{var_name(v)} {var_shape(v)}" for v in variables if id(v) not in used]
    return rows, missing


def _initializer_attrs(layer: Any) -> dict[str, Any]:
    out = {}
    for key, value in vars(layer).items():
        if any(c.__name__ == "Initializer" and keras_root(c) for c in type(value).__mro__):
            out[key] = value
    return out


def _identifier(init: Any) -> dict[str, Any]:
    return {"class_name": type(init).__name__, "config": init.get_config()}


def _own_rows(found: Found, version: KerasVersion, customs: dict[str, object],
              unknown: dict[str, list[str]], notes: list[str]) -> tuple[list[PlanRow], list[str]]:
    """Weights a layer without a kerasinit rule creates itself: via its initializer attributes."""
    state = next((c.__name__ for c in type(found.layer).__mro__
                  if c.__name__ in STATE_LAYERS), None)
    if state is not None:
        listed = ", ".join(f"{var_name(v)} {var_shape(v)}" for v in found.own)
        notes.append(f"{found.path} ({type(found.layer).__name__}): its weights are state "
                     f"({STATE_LAYERS[state]}), not initialized: {listed}")
        return [], []
    attrs = _initializer_attrs(found.layer)
    record = _record(found, version)
    rows: list[PlanRow] = []
    missing: list[str] = []
    for var in found.own:
        full = var_name(var)
        short = full.rsplit("/", 1)[-1]
        key = f"{short}_initializer"
        note = ""
        if key not in attrs:
            if len(attrs) == 1 and len(found.own) == 1:
                key = next(iter(attrs))
                note = f"initializer taken from the layer's only initializer attribute {key!r}"
            else:
                missing.append(f"{full} {var_shape(var)}")
                continue
        init = attrs[key]
        wdef = WeightDef(short, short, key, _identifier(init), var_shape(var), note=note)
        spec = build._spec(wdef.identifier, version, customs, unknown, found.path)
        if spec is None:
            continue
        row = build._row(record, wdef, spec, version)
        rows.append(replace(row, live_seed=_live_seed(init), variable_path=full))
    return rows, missing
