"""Replay ``keras.utils.set_random_seed(s)``: the seed every unseeded initializer of a model drew.

A Keras model built after ``keras.utils.set_random_seed(s)`` carries no seeds in its config, yet
its weights are fixed by ``s``: each unseeded initializer drew ``random.randint(1, 10**9)`` from a
``random.Random(s)`` stream. Knowing the order of the draws gives every weight's seed, and the
seed-faithful streams (``rng="tensorflow"``, ``"jax"``, ``"keras-torch"``) then give its values.

:func:`~kerasinit.porting.replay_draws.draw_order` lists a config's draws when a plan is read
(Keras 3: at construction, invisible draws included; tf_keras >= 2.10: at the first call), in
the order :mod:`~kerasinit.porting.replay_order` infers the code made the layers;
:func:`replay` assigns the seeds.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from kerasinit.mappings.errors import KerasInitError, format_choices
from kerasinit.mappings.specs import Spec
from kerasinit.porting.replay_draws import Draw, DrawOrder, draw_order, draws_seed, row_label

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanRow

__all__ = ["Draw", "DrawOrder", "Order", "ReplayError", "draw_order", "replay", "row_label"]

#: ``order=`` of :func:`replay`: None (inferred), ``"config"``, ``"rebuilt"`` or layer names
#: (ints: foreign draws).
Order = Sequence[str | int] | str | None
_NAMED_ORDERS = ("config", "rebuilt")


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


def replay(plan: P, keras_seed: int | None, *, order: Order = None,
           seeds: Mapping[str, int] | None = None) -> P:
    """The plan with every unseeded random initializer given the seed it drew in Keras.

    Args:
        plan: a plan read from a Keras 3 or tf_keras (>= 2.10) model config.
        keras_seed: the ``s`` of ``keras.utils.set_random_seed(s)`` called before the model
            was built; None for a plan read from a live Keras 3 model, whose initializer
            objects hold the seeds they drew (``PlanRow.live_seed``: no replay needed).
        order: None for a model built in code, in the order inferred from the layer graph
            and the layer names (each seed's confidence shows in ``print``);
            ``"rebuilt"`` for a model rebuilt from its config after ``set_random_seed``
            (``from_config``, ``model_from_json``, ``clone_model``); ``"config"`` for code
            that made the layers in config order; or the order in which the layers were
            constructed (Keras 3) or first called (tf_keras): layer names as ``model.layers``
            lists them (every layer that draws). An integer ``n`` in the list stands for ``n``
            draws made by other code at that point (``random.randint`` calls, other models).
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
               for layer in plan.layers for r in layer.rows if draws_seed(r.initializer))
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
    draws: list[Draw | int]
    if order == "rebuilt":
        draws = list(info.rebuilt)
    elif order == "config":
        draws = list(info.config)
    elif order is None:
        draws = list(info.draws)
    else:
        draws = _reorder(info.config, order)
    stream = random.Random(0 if keras_seed is None else keras_seed)
    drawn: dict[tuple[str, str], tuple[int, str]] = {}
    for i, item in enumerate(draws):
        value = stream.randint(1, int(1e9))
        if isinstance(item, Draw) and item.used:
            conf = info.confidence.get(item.layer, "certain") if order is None else "certain"
            source = f"draw #{i}" + ("" if conf == "certain" else f", {conf}")
            drawn.setdefault((item.target, item.label), (value, source))
    if seeds is not None and (not isinstance(seeds, Mapping)
                              or not all(isinstance(k, str) for k in seeds)):
        raise ReplayError(f"seeds must be a dict {{'layer/weight' or 'layer': int}} or None. "
                          f"Received: {seeds!r:.80}.")
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
    invisible = [f"#{i} {d.target}/{d.label}" if d.target else f"#{i} {d.why}"
                 for i, d in enumerate(draws) if isinstance(d, Draw) and not d.used]
    head = ("seeds read from the live model's initializer objects" if not draws else
            f"replayed keras.utils.set_random_seed({keras_seed}): {len(draws)} draws in "
            f"{info.rule} order" + (" (inferred for a model built in code)" if order is None
                                    else " (rebuilt from the config)" if order == "rebuilt"
                                    else " (config order)" if order == "config"
                                    else " (order= given)"))
    notes = [head, *info.notes, *(info.order_notes if order is None else ())]
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


def _seed_row(row: PlanRow, drawn: Mapping[tuple[str, str], tuple[int, str]],
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
    if not draws_seed(spec):
        return row
    live = getattr(row, "live_seed", None)
    if isinstance(live, int):  # read from the live initializer object: no replay needed
        return dataclasses.replace(row, initializer=_with_seed(spec, live), seed_source="live")
    hit = drawn.get((row.layer, row_label(row)))
    if hit is None:
        raise ReplayError(f"No draw seeds {row.layer}/{row.weight} ({spec.class_name}); pass "
                          f"seeds={{{row.layer + '/' + row.weight!r}: ...}}.")
    value, source = hit
    return dataclasses.replace(row, initializer=_with_seed(spec, value), seed_source=source)


def _with_seed(spec: Spec, seed: int) -> Spec:
    """The random spec with an int seed (a plain int: identical values on every call, as the
    seed a Keras initializer drew)."""
    fields: dict[str, Any] = {"seed": seed, "advancing_seed": False}
    return dataclasses.replace(spec, **fields)


def _reorder(draws: Sequence[Draw], order: Order) -> list[Draw | int]:
    if isinstance(order, (str, bytes)) or not isinstance(order, Sequence):
        raise ReplayError(f"order must be None, 'config', 'rebuilt' or a list of layer names "
                          f"(and ints for foreign draws). Received: {order!r}.")
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
