"""Replay ``keras.utils.set_random_seed(s)``: the seed every unseeded initializer of a model drew.

A Keras model built after ``keras.utils.set_random_seed(s)`` carries no seeds in its config, yet
its weights are fixed by ``s``: each unseeded initializer drew ``random.randint(1, 10**9)`` from a
``random.Random(s)`` stream. Knowing the order of the draws gives every weight's seed, and the
seed-faithful streams (``rng="tensorflow"``, ``"jax"``, ``"keras-torch"``) then give its values.

* **Keras 3** (every backend): draws happen when objects are **constructed**, from the global
  ``random`` (:data:`kerasinit.mappings.layers.KERAS3_DRAWS` lists each layer's draw sites,
  including the invisible ones: RNN cells' SeedGenerators, Dropout, MultiHeadAttention's unused
  kernel initializer and its per-sublayer clones, Bidirectional's discarded wrapped layer). The
  order is the config order: exact for a model rebuilt from its config (``from_config``,
  ``model_from_json``, ``load_model``, ``clone_model``) and for code that constructed layers in
  that order; a functional model with parallel branches may have been built in another order.
* **tf_keras 2.x** (>= 2.10): an unseeded initializer draws at its **first call**, from the
  ``random.Random(s)`` that ``set_random_seed`` installs: one draw per random weight, in build
  (first-call) order.

:func:`draw_order` runs when a plan is read; :func:`replay` assigns the seeds.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from kerasinit.mappings.errors import KerasInitError, format_choices
from kerasinit.mappings.layers import KERAS3_DRAWS, Site, defaults
from kerasinit.mappings.parse import parse_identifier
from kerasinit.mappings.specs import Spec
from kerasinit.mappings.versions import KerasVersion

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanRow
    from kerasinit.porting.walk import LayerRecord

__all__ = ["Draw", "DrawOrder", "Order", "ReplayError", "draw_order", "replay", "row_label"]

#: ``order=`` of :func:`replay`: None, ``"rebuilt"`` or layer names (ints: foreign draws).
Order = Sequence[str | int] | str | None
_AUTO = re.compile(r"([a-z][a-z0-9_]*?)(?:_(\d+))?")
_WRAPPED = ("Bidirectional (forward)", "Bidirectional (backward)", "TimeDistributed", "RNN cell")
_MODELS = ("Sequential", "Functional", "Model")


class _Replayable(Protocol):
    """What :func:`replay` reads of a :class:`~kerasinit.porting.plan.Plan` (a dataclass)."""

    @property
    def layers(self) -> tuple[PlanLayer, ...]: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

    @property
    def draw_order(self) -> DrawOrder | None: ...


P = TypeVar("P", bound=_Replayable)


class ReplayError(KerasInitError):
    """The plan cannot replay ``set_random_seed`` (version, unknown layers, bad ``order``)."""


@dataclass(frozen=True)
class Draw:
    """One ``random.randint(1, 10**9)`` the model makes.

    Attributes:
        layer: the layer the draw belongs to as ``model.layers`` names it (a wrapper's path for
            the layers it wraps); what ``order=`` names.
        target: the plan layer path whose weights it seeds (``"bidirectional/forward_lstm"``).
        label: the weight keyword it seeds (``"kernel_initializer"``,
            ``"query/kernel_initializer"``) or ``"seed_generator"``.
        used: False for a draw that initializes nothing (discarded or never used objects).
        why: what makes the draw, for invisible draws.
    """

    layer: str
    target: str
    label: str
    used: bool = True
    why: str = ""


@dataclass(frozen=True)
class DrawOrder:
    """The model's draws in order, how the order was derived and what is uncertain.

    Attributes:
        draws: every draw, in the order the Keras version makes them for a model built in code.
        rebuilt: the same for a model rebuilt from its config (``from_config``,
            ``model_from_json``, ``clone_model``): Bidirectional layers draw differently.
        rule: ``"construction"`` (Keras 3) or ``"first call"`` (tf_keras).
        notes: caveats (independent branches whose order the config cannot tell, unknown layers).
        refused: why the plan's Keras version cannot be replayed ("" when it can).
    """

    draws: tuple[Draw, ...] = ()
    rebuilt: tuple[Draw, ...] = ()
    rule: str = ""
    notes: tuple[str, ...] = ()
    refused: str = ""


def row_label(row: PlanRow) -> str:
    """The draw label that seeds a plan row: ``"query/kernel_initializer"``, ``"scale"``.

    Example:
        >>> from types import SimpleNamespace
        >>> row_label(SimpleNamespace(weight="query/kernel", keyword="kernel_initializer"))
        'query/kernel_initializer'
    """
    prefix = row.weight.rsplit("/", 1)[0] + "/" if "/" in row.weight else ""
    return prefix + (row.keyword or row.weight)


def _group(record: LayerRecord) -> str:
    return record.path.rsplit("/", 1)[0] if record.wrapper in _WRAPPED else record.path


def _spec_of(record: LayerRecord, key: str, default: object, version: KerasVersion,
             rows: Sequence[PlanRow]) -> Spec | None:
    ident = record.config.get(key, default)
    if ident is None and key in defaults(record.class_name):
        ident = defaults(record.class_name)[key]
    if ident is not None:
        try:
            return parse_identifier(ident, version)
        except KerasInitError:
            pass
    for row in rows:  # a custom_objects name the plan mapped, or a config without the key
        if row.keyword == key:
            return row.initializer
    return None


def _draws(spec: Spec | None) -> bool:
    return spec is not None and spec.is_random and getattr(spec, "seed", 0) is None


def _present(site: Site, config: Mapping[str, Any]) -> bool:
    if not site.when:
        return True
    value = config.get(site.when, site.when_default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return bool(value)
    return value > 0


def _keras3_sites(record: LayerRecord, version: KerasVersion, rows: Sequence[PlanRow],
                  group: str, notes: list[str]) -> list[Draw]:
    table = KERAS3_DRAWS.get(record.class_name)
    if table is None:
        if rows and any(_draws(r.initializer) for r in rows):
            notes.append(f"{record.path} ({record.class_name}): not in the draw table; its "
                         f"random weights are assumed to draw once each, at construction")
            return [Draw(group, record.path, row_label(r)) for r in rows if _draws(r.initializer)]
        return []
    out = []
    for phase, sites in (("", table.init), ("build: ", table.build)):
        for site in sites:
            if not _present(site, record.config):
                continue
            if site.kind == "seed_generator":
                if record.config.get(site.key) is None:
                    out.append(Draw(group, record.path, site.prefix + "seed_generator", False,
                                    f"{phase}{record.class_name} SeedGenerator(seed=None)"))
                continue
            if _draws(_spec_of(record, site.key, site.default, version, rows)):
                why = "" if site.used else f"{record.class_name}'s own {site.key}, never used"
                out.append(Draw(group, record.path, site.prefix + site.key, site.used, why))
    return out


def _keras3(records: Sequence[LayerRecord], version: KerasVersion,
            rows_of: Mapping[str, Sequence[PlanRow]], notes: list[str],
            rebuilt: bool) -> list[Draw]:
    out: list[Draw] = []
    forward: list[Draw] = []
    for rec in records:
        group = _group(rec)
        mine = _keras3_sites(rec, version, rows_of.get(rec.path, ()), group, notes)
        if rec.wrapper == "Bidirectional (forward)":
            out += [dataclasses.replace(d, used=False, why="Bidirectional: the wrapped layer, "
                                        "replaced by a copy from its config") for d in mine]
            forward = mine
            continue
        if rec.wrapper == "Bidirectional (backward)":
            # code: Bidirectional(layer) clones forward, then backward; an explicit
            # backward_layer (a name without "backward_") is constructed before the forward
            # clone, and so is every backward layer of a Bidirectional rebuilt from its config
            explicit = not rec.name.startswith("backward_")
            out += mine + forward if explicit or rebuilt else forward + mine
            forward = []
            continue
        out += mine
    return out


def _tf_keras(records: Sequence[LayerRecord],
              rows_of: Mapping[str, Sequence[PlanRow]]) -> list[Draw]:
    return [Draw(_group(rec), rec.path, row_label(r)) for rec in records
            for r in rows_of.get(rec.path, ()) if _draws(r.initializer)]


def _refusal(version: KerasVersion) -> str:
    if version.major == 3:
        return ""
    if version.major == 2 and version.tf and version.at_least(2, 10):
        return ""
    return (f"{version.label()} unseeded initializers use stateful TensorFlow ops (their values "
            f"depend on TF's per-op seed counter, not only on the seed); set_random_seed can be "
            f"replayed for Keras 3 and for tf.keras / tf_keras >= 2.10")


def draw_order(config: Mapping[str, Any], records: Sequence[LayerRecord],
               version: KerasVersion, layers: Sequence[PlanLayer]) -> DrawOrder:
    """Every seed draw of a model config, in the order its Keras version makes them.

    Args:
        config: the model config (for the functional graph).
        records: every layer instance the walker found, in config order.
        version: the Keras version of the plan.
        layers: the plan layers (their parsed initializer specs).
    """
    refused = _refusal(version)
    if refused:
        return DrawOrder(refused=refused)
    rows_of = {layer.path: layer.rows for layer in layers}
    notes: list[str] = []
    if version.major == 3:
        draws = _keras3(records, version, rows_of, notes, rebuilt=False)
        rebuilt = _keras3(records, version, rows_of, [], rebuilt=True)
        rule = "construction"
    else:
        draws = rebuilt = _tf_keras(records, rows_of)
        rule = "first call"
        if not (version.major == 2 and version.at_least(2, 21)):
            notes.append(f"draw timing verified on tf_keras 2.21; {version.label()} is assumed "
                         f"to draw at the first call too")
    drawing = {d.layer for d in draws}
    notes += _branch_notes(config, "", drawing, rule)
    if any(r.calls > 1 for r in records):
        notes.append("shared layers are constructed once and draw once")
    return DrawOrder(tuple(draws), tuple(rebuilt), rule, tuple(notes))


def _history(obj: object, out: list[str], depth: int = 0) -> None:
    """Names of the layers a functional node reads (Keras 3 ``keras_history`` or legacy lists)."""
    if depth > 50:
        return
    if isinstance(obj, Mapping):
        hist = (obj.get("config") or {}).get("keras_history") if isinstance(
            obj.get("config"), Mapping) else None
        if isinstance(hist, list) and hist and isinstance(hist[0], str):
            out.append(hist[0])
            return
        for v in obj.values():
            _history(v, out, depth + 1)
    elif isinstance(obj, list):
        if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int):
            out.append(obj[0])
            return
        for v in obj:
            _history(v, out, depth + 1)


def _branch_notes(config: Mapping[str, Any], prefix: str, drawing: set[str],
                  rule: str) -> list[str]:
    """Where the config order of drawing layers is not forced by the functional graph."""
    cls = config.get("class_name")
    inner = config.get("config")
    entries = inner.get("layers") if isinstance(inner, Mapping) else inner
    if cls not in _MODELS or not isinstance(entries, list):
        return []
    notes: list[str] = []
    names: list[str] = []
    inputs: dict[str, set[str]] = {}
    for e in entries:
        if not isinstance(e, Mapping):
            continue
        cfg = e.get("config")
        name = str((cfg.get("name") if isinstance(cfg, Mapping) else None) or e.get("name"))
        names.append(name)
        found: list[str] = []
        _history(e.get("inbound_nodes"), found)
        inputs[name] = set(found)
        if e.get("class_name") in _MODELS:
            notes += _branch_notes(e, f"{prefix}{name}/", drawing, rule)
    if cls == "Sequential":
        return notes
    ancestors: dict[str, set[str]] = {}
    for name in names:  # config order is topological
        anc: set[str] = set()
        for parent in inputs.get(name, ()):
            anc |= {parent} | ancestors.get(parent, set())
        ancestors[name] = anc
    order = [n for n in names
             if any(d == prefix + n or d.startswith(prefix + n + "/") for d in drawing)]
    loose = [(a, b) for a, b in itertools.pairwise(order) if a not in ancestors[b]]
    if loose:
        pairs = ", ".join(f"{prefix}{a} / {prefix}{b}" for a, b in loose[:4])
        what = "constructed" if rule == "construction" else "first called"
        notes.append(
            f"draw order = config order; exact for a model rebuilt from its config, but "
            f"{len(loose)} pair(s) of drawing layers lie on independent branches ({pairs}"
            f"{', ...' if len(loose) > 4 else ''}): if your code {what} them in another order, "
            f"pass order=[layer names in that order] (or seeds=)")
        hints = [f"{prefix}{b} before {prefix}{a}" for a, b in loose if _made_before(b, a)]
        if hints and rule == "construction":
            notes.append(f"Keras's automatic names (numbered at construction) suggest "
                         f"{', '.join(hints[:4])}{', ...' if len(hints) > 4 else ''}")
    return notes


def _made_before(b: str, a: str) -> bool:
    """Auto-named layers of one class (``conv2d_3``, ``conv2d``) are numbered in construction
    order: True when ``b``'s number says it was constructed before ``a``."""
    ma, mb = _AUTO.fullmatch(a), _AUTO.fullmatch(b)
    if ma is None or mb is None or ma.group(1) != mb.group(1):
        return False
    return int(mb.group(2) or 0) < int(ma.group(2) or 0)


def replay(plan: P, keras_seed: int | None, *, order: Order = None,
           seeds: Mapping[str, int] | None = None) -> P:
    """The plan with every unseeded random initializer given the seed it drew in Keras.

    Args:
        plan: a plan read from a Keras 3 or tf_keras (>= 2.10) model config.
        keras_seed: the ``s`` of ``keras.utils.set_random_seed(s)`` called before the model
            was built; None for a plan read from a live Keras 3 model, whose initializer
            objects hold the seeds they drew (``PlanRow.live_seed``: no replay needed).
        order: None for a model built in code in config order; ``"rebuilt"`` for a model
            rebuilt from its config after ``set_random_seed`` (``from_config``,
            ``model_from_json``, ``clone_model``); or the order in which the layers were
            constructed (Keras 3) or first called (tf_keras), when it differs from the
            config's: layer names as ``model.layers`` lists them (every layer that draws). An
            integer ``n`` in the list stands for ``n`` draws made by other code at that point
            (``random.randint`` calls, other models).
        seeds: explicit seeds that win over the replay: ``{"dense_1/kernel": 7}`` or
            ``{"dense_1": 7}`` (every random weight of that layer).

    Returns:
        A new plan; rows seeded by the replay show their seed and draw number in ``print``.

    Raises:
        ReplayError: the version cannot be replayed, or ``order`` does not name every drawing
            layer exactly once.

    Example:
        >>> import kerasinit
        >>> plan = kerasinit.porting.read({"class_name": "Sequential", "config": {"layers": [
        ...     {"class_name": "Dense", "config": {"name": "d", "units": 2,
        ...      "batch_input_shape": [None, 3]}}]}}, keras_version="3.15")
        >>> replay(plan, 42).rows[0].initializer.seed   # random.Random(42).randint(1, 10**9)
        686579304
    """
    info = plan.draw_order
    live = all(getattr(r, "live_seed", None) is not None
               for layer in plan.layers for r in layer.rows if _draws(r.initializer))
    if not (keras_seed is None and live) and (
            isinstance(keras_seed, bool) or not isinstance(keras_seed, int)):
        raise ReplayError(f"keras_seed must be the int given to keras.utils.set_random_seed "
                          f"(None only for a plan read from a live Keras 3 model). Received: "
                          f"{keras_seed!r} (type {type(keras_seed).__name__}).")
    if keras_seed is not None and not 0 <= keras_seed < 1 << 32:
        raise ReplayError(f"keras_seed must be in [0, 2**32 - 1]: keras.utils.set_random_seed "
                          f"refuses anything else (NumPy's seed range). Received: {keras_seed!r}.")
    if info is None or info.refused or keras_seed is None:
        if live:  # a live Keras 3 model: every initializer object holds the seed it drew
            info = DrawOrder(rule="construction")
        elif info is None:
            raise ReplayError(
                "This plan records no draw order and not every random weight has a live seed "
                "(a tf_keras model draws its seeds at the first call and keeps none on the "
                "initializer); read the model's config instead: "
                "kerasinit.porting.read(model.to_json()).")
        else:
            raise ReplayError(f"Cannot replay set_random_seed for this plan: {info.refused}.")
    if order == "rebuilt":
        draws: list[Draw | int] = list(info.rebuilt)
    else:
        draws = _reorder(info.draws, order)
    stream = random.Random(0 if keras_seed is None else keras_seed)
    drawn: dict[tuple[str, str], tuple[int, int]] = {}
    for i, item in enumerate(draws):
        value = stream.randint(1, int(1e9))
        if isinstance(item, Draw) and item.used:
            drawn.setdefault((item.target, item.label), (value, i))
    explicit = dict(seeds or {})
    used_keys: set[str] = set()
    new_layers = []
    for layer in plan.layers:
        rows = []
        for row in layer.rows:
            rows.append(_seed_row(row, drawn, explicit, used_keys))
        new_layers.append(dataclasses.replace(layer, rows=tuple(rows)))
    unknown = sorted(set(explicit) - used_keys)
    if unknown:
        raise ReplayError(f"seeds= names no random weight of the plan: {format_choices(unknown)}."
                          f" Keys are 'layer/weight' or 'layer' paths as print(plan) shows them.")
    invisible = [f"#{i} {d.target}/{d.label}" for i, d in enumerate(draws)
                 if isinstance(d, Draw) and not d.used]
    head = ("seeds read from the live model's initializer objects" if not draws else
            f"replayed keras.utils.set_random_seed({keras_seed}): {len(draws)} draws in "
            f"{info.rule} order" + (" (config order, built in code)" if order is None else
                                    " (rebuilt from the config)" if order == "rebuilt" else
                                    " (order= given)"))
    notes = [head, *info.notes]
    if invisible:
        notes.append(f"draws that seed no weight: {', '.join(invisible[:12])}"
                     f"{', ...' if len(invisible) > 12 else ''}")
    if draws:
        notes.append("a config cannot show shared initializer objects or other code drawing "
                     "from random between layers; pass order= (with integers for foreign "
                     "draws) or seeds=")
    out: P = dataclasses.replace(cast(Any, plan), layers=tuple(new_layers),
                                 notes=tuple(plan.notes) + tuple(notes), replayed=keras_seed)
    return out


def _seed_row(row: PlanRow, drawn: Mapping[tuple[str, str], tuple[int, int]],
              explicit: Mapping[str, int], used_keys: set[str]) -> PlanRow:
    spec = row.initializer
    for key in (f"{row.layer}/{row.weight}", row.layer):
        if key in explicit and spec.is_random:
            used_keys.add(key)
            value = explicit[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ReplayError(f"seeds[{key!r}] must be an int. Received: {value!r}.")
            return dataclasses.replace(row, initializer=_with_seed(spec, value),
                                       seed_source="seeds=")
    if not _draws(spec):
        return row
    live = getattr(row, "live_seed", None)
    if isinstance(live, int):  # read from the live initializer object: no replay needed
        return dataclasses.replace(row, initializer=_with_seed(spec, live), seed_source="live")
    hit = drawn.get((row.layer, row_label(row)))
    if hit is None:
        raise ReplayError(f"No draw seeds {row.layer}/{row.weight} ({spec.class_name}); pass "
                          f"seeds={{{row.layer + '/' + row.weight!r}: ...}}.")
    value, index = hit
    return dataclasses.replace(row, initializer=_with_seed(spec, value),
                               seed_source=f"draw #{index}")


def _with_seed(spec: Spec, seed: int) -> Spec:
    """The random spec with an int seed (a plain int: identical values on every call, as the
    seed a Keras initializer drew)."""
    fields: dict[str, Any] = {"seed": seed, "advancing_seed": False}
    return dataclasses.replace(spec, **fields)


def _reorder(draws: Sequence[Draw], order: Order) -> list[Draw | int]:
    if order is None:
        return list(draws)
    if isinstance(order, (str, bytes)) or not isinstance(order, Sequence):
        raise ReplayError(f"order must be None, 'rebuilt' or a list of layer names (and ints "
                          f"for foreign draws). Received: {order!r}.")
    groups: dict[str, list[Draw]] = {}
    for d in draws:
        groups.setdefault(d.layer, []).append(d)
    out: list[Draw | int] = []
    seen: set[str] = set()
    for item in order:
        if isinstance(item, int) and not isinstance(item, bool):
            if item < 0:
                raise ReplayError(f"order: a draw count must be >= 0. Received: {item}.")
            out += [0] * item
            continue
        if not isinstance(item, str):
            raise ReplayError(f"order: entries are layer names or ints. Received: {item!r}.")
        name = _match(item, groups)
        if name is None:
            continue  # a layer that draws nothing
        if name in seen:
            raise ReplayError(f"order names {item!r} twice.")
        seen.add(name)
        out += groups[name]
    missing = [g for g in groups if g not in seen]
    if missing:
        raise ReplayError(f"order must name every layer that draws; missing: "
                          f"{format_choices(missing, limit=20)}.")
    return out


def _match(item: str, groups: Mapping[str, list[Draw]]) -> str | None:
    if item in groups:
        return item
    tails = [g for g in groups if g.rsplit("/", 1)[-1] == item]
    if len(tails) > 1:
        raise ReplayError(f"order: {item!r} is ambiguous ({', '.join(tails)}); use the path.")
    return tails[0] if tails else None
