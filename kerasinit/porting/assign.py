"""Which stored array is which plan weight: plan rows <-> :class:`StoredWeight` entries.

Stored groups are keyed by Keras layer path; a group covers the plan layers at that path or
under it (a ``Bidirectional``'s two halves, a nested model's layers). Inside a group, arrays
with Keras weight names (legacy HDF5, live models) are matched by name -- the name ends in the
plan's weight name (``query/kernel``; tf_keras ``depthwise_kernel`` = Keras 3 ``kernel``) and,
when the group holds several layers, contains the layer's own name; a Keras 3 weights store has
no weight names, so its arrays are taken in Keras's creation order. Every stored shape is
checked against the plan's Keras shape before any array is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kerasinit.mappings.errors import format_choices
from kerasinit.porting.rows import STATE_LAYERS
from kerasinit.porting.weights_h5 import StoredWeight, WeightStore

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanRow, PlanView

__all__ = ["assign_weights", "row_key"]

_ALIASES = {"depthwise_kernel": ("kernel",), "kernel": ("depthwise_kernel",)}


def row_key(row: PlanRow) -> str:
    """``"layer/weight"``: the name of a plan weight in reports."""
    return f"{row.layer}/{row.weight}"


def _covers(key: str, layer: PlanLayer) -> bool:
    return layer.path == key or layer.path.startswith(key + "/")


def _parts(name: str) -> list[str]:
    return name.split(":")[0].split("/")


def _matches(stored: StoredWeight, layer: PlanLayer, row: PlanRow, several: bool) -> bool:
    parts = _parts(stored.name)
    wanted = row.weight.split("/")
    tails = [wanted] + [[*wanted[:-1], a] for a in _ALIASES.get(wanted[-1], ())]
    if not any(parts[-len(t):] == t for t in tails):
        return False
    leaf = layer.path.rsplit("/", 1)[-1]
    return not several or leaf in parts[:-len(wanted)]


def assign_weights(plan: PlanView, store: WeightStore,
                   state: dict[str, str] | None = None
                   ) -> tuple[dict[str, StoredWeight], list[str]]:
    """(plan row key -> stored weight, problems). No array is read here.

    Problems name the Keras layer and both shapes: a plan layer with no stored group, a stored
    group the plan does not have (another model's weights), a count or shape that differs.
    A stored group of a layer whose weights are state (a ``Normalization``'s mean and variance:
    the graph names its class) is no problem: its weights go to ``state`` (``"layer/i"`` ->
    the class) when given.
    """
    classes = {g.path: g.class_name for g in plan.graph}
    problems: list[str] = []
    out: dict[str, StoredWeight] = {}
    keys = sorted(store.groups, key=len, reverse=True)  # the longest covering key wins
    owner: dict[str, str] = {}
    for layer in plan.layers:
        for key in keys:
            if _covers(key, layer):
                owner[layer.path] = key
                break
        else:
            problems.append(f"{store.origin} has no weights for Keras layer {layer.path} "
                            f"({layer.class_name})")
    for key, stored in store.groups.items():
        layers = [k for k in plan.layers if owner.get(k.path) == key]
        if not layers and classes.get(key) in STATE_LAYERS:
            if state is not None:
                state.update({f"{key}/{i}": str(classes[key]) for i in range(len(stored))})
            continue
        if not layers:
            problems.append(
                f"{store.origin} holds weights for a Keras layer {key!r} that the plan does not "
                f"have (weights of another model?); plan layers: "
                f"{format_choices([k.path for k in plan.layers], limit=12)}")
            continue
        rows = [(layer, r) for layer in layers for r in layer.rows]
        if len(rows) != len(stored):
            problems.append(
                f"Keras {key}: the plan has {len(rows)} weights "
                f"({', '.join(r.weight for _, r in rows)}), {store.origin} stores {len(stored)}")
            continue
        free = list(stored)
        for layer, row in rows:
            if stored[0].named:
                hit = next((s for s in free if _matches(s, layer, row, len(layers) > 1)), None)
            else:
                hit = free[0]
            if hit is None:
                problems.append(f"Keras {row_key(row)}: no stored weight of that name in "
                                f"{store.origin} ({', '.join(s.name for s in free)})")
                continue
            free.remove(hit)
            if row.keras_shape is not None and tuple(row.keras_shape) != hit.shape:
                problems.append(f"Keras {row_key(row)}: the plan says shape {row.shape_text}, "
                                f"{store.origin} stores {hit.shape} ({hit.name})")
                continue
            out[row_key(row)] = hit
    return out, problems
