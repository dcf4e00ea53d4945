"""Which seed draws a model's config implies, and in what order (for ``set_random_seed`` replay).

* **Keras 3** (every backend): draws happen when objects are **constructed**, from the global
  ``random`` (:data:`kerasinit.mappings.layers.KERAS3_DRAWS` lists each layer's draw sites,
  including the invisible ones: RNN cells' SeedGenerators, Dropout, MultiHeadAttention's unused
  kernel initializer and its per-sublayer clones, Bidirectional's discarded wrapped layer).
* **tf_keras 2.x** (>= 2.10): an unseeded initializer draws at its **first call**, from the
  ``random.Random(s)`` that ``set_random_seed`` installs: one draw per random weight, in build
  (first-call) order.

The order of the layers is the order the code made them (Keras 3) or first called them
(tf_keras); :mod:`kerasinit.porting.replay_order` infers it from the config. A model rebuilt
from its config (``from_config``, ``model_from_json``, ``load_model``, ``clone_model``) makes
them in config order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.layers import KERAS3_DRAWS, Site, defaults
from kerasinit.mappings.parse import parse_identifier
from kerasinit.mappings.specs import Spec
from kerasinit.mappings.versions import KerasVersion
from kerasinit.porting.hub_backbones import backbone_draws
from kerasinit.porting.replay_order import Confidence, infer_order

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanRow
    from kerasinit.porting.walk import LayerRecord

__all__ = ["Draw", "DrawOrder", "draw_order", "draws_seed", "row_label"]

_WRAPPED = ("Bidirectional (forward)", "Bidirectional (backward)", "TimeDistributed", "RNN cell")


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
        draws: every draw, in the order inferred for a model built in code (construction
            order for Keras 3, first-call order for tf_keras; see
            :mod:`~kerasinit.porting.replay_order`).
        config: the same draws in config order (``order="config"``).
        rebuilt: the draws of a model rebuilt from its config (``from_config``,
            ``model_from_json``, ``clone_model``): config order, and Bidirectional layers
            draw backward before forward.
        rule: ``"construction"`` (Keras 3) or ``"first call"`` (tf_keras).
        notes: caveats (unknown layers, shared layers, the version's draw timing).
        refused: why the plan's Keras version cannot be replayed ("" when it can).
        confidence: per drawing layer (``Draw.layer``) of :attr:`draws`: ``"certain"``,
            ``"inferred"`` or ``"uncertain"``.
        why: what decided an uncertain layer's place.
        order_notes: how :attr:`draws` was ordered and which layers are uncertain.
    """

    draws: tuple[Draw, ...] = ()
    rebuilt: tuple[Draw, ...] = ()
    rule: str = ""
    notes: tuple[str, ...] = ()
    refused: str = ""
    config: tuple[Draw, ...] = ()
    confidence: Mapping[str, Confidence] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)
    order_notes: tuple[str, ...] = ()


def row_label(row: PlanRow) -> str:
    """The draw label that seeds a plan row: ``"query/kernel_initializer"``, ``"scale"``.

    Example:
        >>> from types import SimpleNamespace
        >>> row_label(SimpleNamespace(weight="query/kernel", keyword="kernel_initializer"))
        'query/kernel_initializer'
    """
    prefix = row.weight.rsplit("/", 1)[0] + "/" if "/" in row.weight else ""
    return prefix + (row.keyword or row.weight)


def draws_seed(spec: Spec | None) -> bool:
    """True for a random initializer without a seed (it draws one under ``set_random_seed``).

    Example:
        >>> from kerasinit.mappings.parse import parse_identifier
        >>> from kerasinit.mappings.versions import parse_version
        >>> v = parse_version("3.15")
        >>> draws_seed(parse_identifier("he_normal", v)), draws_seed(parse_identifier("zeros", v))
        (True, False)
    """
    return spec is not None and spec.is_random and getattr(spec, "seed", 0) is None


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
        if rows and any(draws_seed(r.initializer) for r in rows):
            notes.append(f"{record.path} ({record.class_name}): not in the draw table; its "
                         f"random weights are assumed to draw once each, at construction")
            return [Draw(group, record.path, row_label(r)) for r in rows
                    if draws_seed(r.initializer)]
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
            if draws_seed(_spec_of(record, site.key, site.default, version, rows)):
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
            for r in rows_of.get(rec.path, ()) if draws_seed(r.initializer)]


def _refusal(version: KerasVersion) -> str:
    if version.major == 3:
        return ""
    if version.major == 2 and version.tf and version.at_least(2, 10):
        return ""
    return (f"{version.label()} unseeded initializers use stateful TensorFlow ops (their values "
            f"depend on TF's per-op seed counter, not only on the seed); set_random_seed can be "
            f"replayed for Keras 3 and for tf.keras / tf_keras >= 2.10")


def draw_order(config: Mapping[str, Any], records: Sequence[LayerRecord],
               version: KerasVersion, layers: Sequence[PlanLayer], *,
               backbone: Mapping[str, Any] | None = None) -> DrawOrder:
    """Every seed draw of a model config, in the order its Keras version makes them.

    Args:
        config: the model config (for the functional graph and the layer names).
        records: every layer instance the walker found, in config order.
        version: the Keras version of the plan.
        layers: the plan layers (their parsed initializer specs).
        backbone: the saved arguments of a keras_hub backbone the plan was built from
            (:mod:`~kerasinit.porting.hub_backbones`): its draws are known exactly.
    """
    refused = _refusal(version)
    if refused:
        return DrawOrder(refused=refused)
    if backbone is not None:
        if version.major != 3:
            return DrawOrder(refused=f"keras_hub backbones run on Keras 3, not "
                                     f"{version.label()}")
        known = tuple(Draw(d.target.split("/", 1)[0] or "(backbone)", d.target, d.label,
                           bool(d.target), d.why) for d in backbone_draws(backbone))
        return DrawOrder(known, known, "construction", config=known,
                         confidence=dict.fromkeys((d.layer for d in known), "certain"),
                         order_notes=(f"draw order: {backbone.get('class_name')}'s "
                                      f"construction, known from its arguments",))
    rows_of = {layer.path: layer.rows for layer in layers}
    notes: list[str] = []
    if version.major == 3:
        config_order = _keras3(records, version, rows_of, notes, rebuilt=False)
        rebuilt = _keras3(records, version, rows_of, [], rebuilt=True)
        rule = "construction"
    else:
        config_order = rebuilt = _tf_keras(records, rows_of)
        rule = "first call"
        if (version.major, version.minor) not in ((2, 15), (2, 21), (2, None)):
            notes.append(f"draw timing verified on tf.keras 2.15 and tf_keras 2.21; "
                         f"{version.label()} is assumed to draw at the first call too")
    groups = list(dict.fromkeys(d.layer for d in config_order))
    inferred = infer_order(config, groups, "construction" if rule == "construction"
                           else "first call")
    by_group: dict[str, list[Draw]] = {}
    for d in config_order:
        by_group.setdefault(d.layer, []).append(d)
    draws = [d for g in inferred.order for d in by_group.get(g, ())]
    if any(r.calls > 1 for r in records):
        notes.append("shared layers are constructed once and draw once")
    return DrawOrder(tuple(draws), tuple(rebuilt), rule, tuple(notes), config=tuple(config_order),
                     confidence=dict(inferred.confidence), why=dict(inferred.why),
                     order_notes=tuple(_order_notes(inferred.confidence, inferred.why, rule)))


def _order_notes(confidence: Mapping[str, Confidence], why: Mapping[str, str],
                 rule: str) -> list[str]:
    counts = {c: sum(1 for v in confidence.values() if v == c)
              for c in ("certain", "inferred", "uncertain")}
    if not counts["inferred"] and not counts["uncertain"]:
        return []
    what = "constructed" if rule == "construction" else "first called"
    notes = [f"draw order: the order the code {what} the layers, inferred from the layer graph "
             f"and names: {counts['certain']} drawing layer(s) certain (the graph orders them), "
             f"{counts['inferred']} inferred (Keras's automatic or numbered names), "
             f"{counts['uncertain']} uncertain; a model rebuilt from its config draws in "
             f"config order (order='rebuilt')"]
    uncertain = [g for g, c in confidence.items() if c == "uncertain"]
    if uncertain:
        shown = "; ".join(f"{g}: {why.get(g, '')}" for g in uncertain[:4])
        notes.append(f"uncertain order ({len(uncertain)}): {shown}"
                     f"{'; ...' if len(uncertain) > 4 else ''}. If your code {what} them "
                     f"otherwise, pass order=[layer names in that order] (or seeds=)")
    return notes
