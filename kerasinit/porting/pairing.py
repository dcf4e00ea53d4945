"""Pair Keras layers with torch modules by structure: ``pair(plan, model) -> Pairing``.

The one pairing API of kerasinit (``plan.apply``, weight loading and forward checks use it)::

    pairing = pair(plan, model, mapping=None, example_input=None)
    pairing.pairs        # (Keras layers, torch unit) pairs, each with how it was decided
    pairing.problems     # what could not be paired, ambiguities (with the mapping that settles them)

Evidence, strongest first:

1. ``mapping`` entries (see :mod:`kerasinit.porting.targets`).
2. Equal names: the Keras layer name and the torch module path (or its last part) after removing
   case and separators, when each is unique on its side and the signatures agree. Keras
   auto-generated names (``conv2d_94``) never count.
3. The data flow: the Keras graph (inbound nodes) against the torch model's traced forward
   (:mod:`kerasinit.porting.trace`; the example input is ``example_input`` or built from the
   Keras input shapes). Both graphs are reduced to weight-bearing layers and refined
   Weisfeiler-Lehman style from signatures (kind and shapes after the layout conversion,
   :mod:`kerasinit.porting.signature`); a node whose refined label is unique on both sides pairs.
   Structurally identical candidates (repeated blocks, parallel branches) pair in order only when
   they would receive the same initial values; otherwise the pairing refuses and names them.
4. Without a trace (no forward, or it failed): equal signatures pair in order, with the same rule
   for candidates that would differ.

Whatever is left pairs by kind in order, so that the checks name both sides of a mismatch.
"""


from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from kerasinit.mappings.errors import KerasInitError
from kerasinit.porting.matching import Pair, Unit, _compatible, _fuse_separable, keras_family
from kerasinit.porting.pair_graph import OUT, NodeId, refine
from kerasinit.porting.pair_sides import Pairer, units_of
from kerasinit.porting.signature import KNode, TNode, auto_name, keras_nodes, name_key, torch_nodes
from kerasinit.porting.trace import INPUT

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanView

__all__ = ["Pairing", "pair", "pair_lists", "units_of"]


@dataclass(frozen=True)
class Pairing:
    """How the Keras layers of a plan pair with a torch model's modules.

    Attributes:
        pairs: the pairs (Keras layers, torch unit), in torch execution (or module) order.
        how: for each pair (same order): ``"mapping"``, ``"name"``, ``"graph"``, ``"order"``
            (structurally identical candidates that would get the same values), or
            ``"leftover"`` (paired only so the checks can name both sides).
        unmatched_keras: weight-bearing Keras layers no torch module took.
        unmatched_units: torch units no Keras layer took.
        problems: mapping errors, ambiguities and unpaired layers, each naming both sides.
        pair_problems: for each pair (same order), why its kinds do not fit, or ``""``.
        ties: notes on pairs decided by order among identical candidates.
        flow: how the torch data flow was found (``"traced"`` or why not).
    """

    pairs: tuple[Pair, ...]
    how: tuple[str, ...]
    unmatched_keras: tuple[PlanLayer, ...]
    unmatched_units: tuple[Unit, ...]
    problems: tuple[str, ...]
    ties: tuple[str, ...]
    flow: str
    pair_problems: tuple[str, ...] = ()


def pair(plan: PlanView, model: nn.Module, mapping: object = None,
         example_input: object = None) -> Pairing:
    """Pair the plan's weight-bearing Keras layers with ``model``'s modules.

    Args:
        plan: the :class:`~kerasinit.porting.plan.Plan`.
        model: the torch model (not modified; a traced forward runs in eval mode under
            ``no_grad`` with the RNG state and training flags restored).
        mapping: explicit entries (see :mod:`kerasinit.porting.targets`).
        example_input: an input for ``model(example_input)`` (a tuple is unpacked, a dict passed
            as keywords); by default one is built from the Keras input shapes.

    Returns:
        A :class:`Pairing`; nothing raises for pairs that do not fit (they are in
        ``.problems``), only for a malformed ``mapping``.

    Raises:
        KerasInitError: ``mapping`` is not a dict of module paths, or names a module twice.

    Example:
        >>> from torch import nn
        >>> from kerasinit.porting import read
        >>> plan = read({"class_name": "Sequential", "keras_version": "3.15.1", "config": {
        ...     "layers": [{"class_name": "Dense", "config": {"name": "hidden", "units": 4,
        ...     "batch_input_shape": [None, 8]}}, {"class_name": "Dense", "config": {
        ...     "name": "out", "units": 2}}]}})
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.head = nn.Linear(4, 2)   # registered first
        ...         self.body = nn.Linear(8, 4)
        ...     def forward(self, x):
        ...         return self.head(self.body(x).relu())
        >>> p = pair(plan, Net())
        >>> [(k[0].path, u.path) for k, u in ((q.keras, q.unit) for q in p.pairs)], p.flow
        ([('hidden', 'body'), ('out', 'head')], 'traced')
    """
    if not isinstance(model, nn.Module):
        raise KerasInitError(f"pairing needs a torch.nn.Module. Received {type(model).__name__}.")
    me = Pairer(plan, model, mapping, example_input)
    me.explicit()
    knodes = keras_nodes(plan.layers)
    fixed_units = [u for _, u in me.fixed]
    tlist = torch_nodes(fixed_units + me.units)
    flow, flow_text = me.torch_flow(tlist)
    kpreds, kout, kpos = me.keras_graph(knodes)
    tpos: dict[tuple[int, int], int] = {}
    if flow is not None:
        tpreds = {i: set(flow.preds.get(i, {INPUT})) for i in range(len(tlist))}
        tpos = dict(flow.positions)
        order: dict[int, float] = {n: float(i) for i, n in enumerate(flow.order)}
        for i in range(len(tlist)):
            order.setdefault(i, float(len(tlist) + i))
        me.fuse(tlist, tpreds, order, tpos)
        me.group_attention(tlist, tpreds, order, tpos)
        tout = {o for o in flow.outputs if o in tpreds}
    else:
        tpreds = {i: set() for i in range(len(tlist))}
        order = {i: float(i) for i in range(len(tlist))}
        _fuse_in_order(plan, tlist, tpreds, order)
        kpreds = {n.index: set() for n in knodes}
        kout, tout, kpos = set(), set(), {}
    live = sorted(tpreds, key=lambda i: order[i])

    # anchors: the mapping, then equal names
    anchors: list[tuple[set[int], set[int]]] = []
    how_k: dict[int, str] = {}
    settled_k = {n.index for n in knodes if any(k.path in me.claimed_k for k in n.layers)}
    for layers, unit in me.fixed:
        ks = {n.index for n in knodes if any(k in layers for k in n.layers)}
        ts = {i for i in live if tlist[i].unit is unit}
        anchors.append((ks, ts))
    settled_t = {i for _, ts in anchors for i in ts}
    start: dict[NodeId, object] = {}
    for n in knodes:
        scope = me.scope_k.get(n.layers[0].path, 0)
        start[("k", n.index)] = (scope, n.sig)
    for i in live:
        scope = me.scope_t.get(tlist[i].unit.path, 0)
        start[("t", i)] = (scope, tlist[i].sig)
    named = _names(knodes, tlist, live, start, settled_k, settled_t)
    for k, t in named.items():
        anchors.append(({k}, {t}))
        how_k[k] = "name"
    kpreds = {**kpreds, OUT: kout}
    tpreds = {**tpreds, OUT: tout}
    graph_pairs, history = refine(kpreds, tpreds, start, anchors, (kpos, tpos))
    result: dict[int, int] = {k: t for k, t in named.items()}
    for k, t in graph_pairs.items():
        result[k] = t
        how_k[k] = "graph" if flow is not None else "order"
    done_t = set(result.values()) | settled_t
    ambiguous: set[int] = set()
    ambiguous_t: set[int] = set()
    for class_k, class_t in history:
        ks_left = sorted(k for k in class_k if k not in result and k not in settled_k
                         and k not in ambiguous)
        ts_left = sorted((t for t in class_t if t not in done_t), key=lambda i: order[i])
        if not ks_left or len(ks_left) != len(ts_left):
            continue
        values = {knodes[k].values() for k in ks_left}
        if len(ks_left) > 1 and len(values) > 1:
            ambiguous.update(ks_left)
            ambiguous_t.update(ts_left)
            done_t.update(ts_left)
            me.problems.append(_ambiguity(knodes, tlist, ks_left, ts_left, flow is None))
            continue
        for k, t in zip(ks_left, ts_left, strict=True):
            result[k] = t
            how_k[k] = "order" if len(ks_left) > 1 else ("graph" if flow is not None else "order")
            done_t.add(t)
        if len(ks_left) > 1:
            me.ties.append(", ".join(knodes[k].path for k in ks_left) + " -> " + ", ".join(
                tlist[t].unit.path or "(root)" for t in ts_left) + " (identical candidates, "
                "same initial values: paired in order)")
    # leftovers: same family in order, then anything in order (so checks name both sides)
    k_left = [n.index for n in knodes if n.index not in result and n.index not in settled_k
              and n.index not in ambiguous]
    t_left = [i for i in live if i not in done_t]
    for same_family in (True, False):
        for k in list(k_left):
            for t in t_left:
                if not same_family or knodes[k].sig[0] == tlist[t].sig[0]:
                    result[k] = t
                    how_k[k] = "leftover"
                    k_left.remove(k)
                    t_left.remove(t)
                    break
    return _assemble(me, knodes, tlist, [i for i in live if i not in ambiguous_t], result,
                     how_k, fixed_units, k_left, t_left + sorted(ambiguous_t), ambiguous,
                     flow_text)


def _fuse_in_order(plan: PlanView, tnodes: list[TNode], preds: dict[int, set[int]],
                   order: dict[int, float]) -> None:
    """Without a trace: a depthwise conv directly followed (module order) by a 1x1 conv."""
    if not any(keras_family(k.class_name).startswith("SeparableConv") for k in plan.layers):
        return
    i = 0
    count = len(tnodes)
    while i + 1 < count:
        fused = _fuse_separable(tnodes[i].unit, tnodes[i + 1].unit)
        if fused is not None:
            tnodes.append(torch_nodes([fused])[0])
            order[len(tnodes) - 1] = order[i]
            preds.pop(i, None)
            preds.pop(i + 1, None)
            preds[len(tnodes) - 1] = set()
            i += 2
        else:
            i += 1


def _names(knodes: list[KNode], tnodes: list[TNode], live: list[int],
           start: dict[NodeId, object], settled_k: set[int], settled_t: set[int]) -> dict[int, int]:
    """Keras layers and torch modules with equal names (unique on both sides, same signature)."""
    found: dict[int, int] = {}
    for mode in ("full", "last"):
        keys_k: dict[str, list[int]] = defaultdict(list)
        keys_t: dict[str, list[int]] = defaultdict(list)
        for n in knodes:
            if n.index in settled_k or n.index in found or auto_name(n.path, n.layers[0].class_name):
                continue
            keys_k[name_key(n.path if mode == "full" else n.path.rsplit("/", 1)[-1])].append(n.index)
        for i in live:
            path = tnodes[i].unit.path
            if i in settled_t or i in found.values() or "+" in path or not path:
                continue
            keys_t[name_key(path if mode == "full" else path.rsplit(".", 1)[-1])].append(i)
        for key, ks in keys_k.items():
            ts = keys_t.get(key, [])
            if len(ks) == 1 and len(ts) == 1 and start[("k", ks[0])] == start[("t", ts[0])]:
                found[ks[0]] = ts[0]
    return found


def _ambiguity(knodes: list[KNode], tnodes: list[TNode], ks: list[int], ts: list[int],
               untraced: bool) -> str:
    names = [knodes[k].path for k in ks]
    paths = [tnodes[t].unit.path or "(root)" for t in ts]
    values = "; ".join(f"{knodes[k].path}: " + ", ".join(
        f"{w} {init}" for w, init, _ in knodes[k].values()) for k in ks)
    where = ("no forward trace to tell them apart (pass example_input=)" if untraced
             else "same kind, shapes and place in the graph")
    example = ", ".join(f"{n!r}: {p!r}" for n, p in zip(names, paths, strict=True))
    return (f"ambiguous: Keras {', '.join(names)} and torch {', '.join(paths)} cannot be told "
            f"apart ({where}) but would receive different initial values ({values}); nothing "
            f"is guessed: settle it with mapping={{{example}}} (in the order you mean)")


def _assemble(me: Pairer, knodes: list[KNode], tnodes: list[TNode], live: list[int],
              result: dict[int, int], how_k: dict[int, str], fixed_units: list[Unit],
              k_left: list[int], t_left: list[int], ambiguous: set[int],
              flow_text: str) -> Pairing:
    pairs: list[Pair] = []
    how: list[str] = []
    kinds: list[str] = []
    problems = list(me.problems)
    for layers, unit in me.fixed:
        problem, used = _compatible(layers, unit)
        kinds.append(problem or "")
        pairs.append(Pair(layers, used))
        how.append("mapping")
    by_node = {t: k for k, t in result.items()}
    seen: list[Unit] = []
    unmatched_units: list[Unit] = []
    strength = ("mapping", "name", "graph", "order", "leftover")
    for t in live:
        unit = tnodes[t].unit
        if any(unit is u for u in fixed_units) or any(unit is u for u in seen):
            continue
        seen.append(unit)
        nodes = sorted((i for i in live if tnodes[i].unit is unit), key=lambda i: tnodes[i].sub)
        ks = [by_node[i] for i in nodes if i in by_node]
        if not ks:
            unmatched_units.append(unit)
            problems.append(f"torch {unit.path or '(root)'} ({type(unit.module).__name__}) has "
                            f"no Keras layer to pair with")
            continue
        for i in nodes:
            if i not in by_node:
                problems.append(f"torch {tnodes[i].label} has no Keras layer to pair with")
        layers = tuple(layer for k in ks for layer in knodes[k].layers)
        problem, used = _compatible(layers, unit)
        hows = [how_k.get(k, "leftover") for k in ks]
        weakest = max(hows, key=strength.index)
        if problem and weakest == "leftover":
            problem += " (no structural match: paired in order so both sides are named; " \
                       "pass mapping= to pair explicitly)"
        kinds.append(problem or "")
        pairs.append(Pair(layers, used))
        how.append(weakest)
    unmatched_keras = [layer for k in k_left for layer in knodes[k].layers]
    for layer in unmatched_keras:
        problems.append(f"Keras {layer.path} ({layer.class_name}) has no torch module")
    unmatched_keras += [layer for k in sorted(ambiguous) for layer in knodes[k].layers]
    for t in t_left:
        unit = tnodes[t].unit
        if not any(unit is u for u in unmatched_units):
            unmatched_units.append(unit)
    return Pairing(tuple(pairs), tuple(how), tuple(unmatched_keras), tuple(unmatched_units),
                   tuple(problems), tuple(me.ties), flow_text, tuple(kinds))


def pair_lists(plan: PlanView, model: nn.Module, mapping: object = None,
               example_input: object = None
               ) -> tuple[list[Pair], list[str], list[Unit], list[str]]:
    """:func:`pair` as lists: pairs, unmatched Keras layer paths, unmatched torch units, and
    every problem (kind mismatches of pairs included), for callers that check pairs themselves.

    Example:
        >>> from torch import nn
        >>> from kerasinit.porting import read
        >>> plan = read({"class_name": "Sequential", "keras_version": "3.15.1", "config": {
        ...     "layers": [{"class_name": "Dense", "config": {"name": "fc", "units": 2,
        ...     "batch_input_shape": [None, 3]}}]}})
        >>> pairs, keras_left, torch_left, problems = pair_lists(plan, nn.Linear(3, 2))
        >>> [(p.keras[0].path, p.unit.path) for p in pairs], keras_left, torch_left, problems
        ([('fc', '')], [], [], [])
    """
    p = pair(plan, model, mapping=mapping, example_input=example_input)
    problems = [q for q in p.pair_problems if q] + list(p.problems)
    return (list(p.pairs), [k.path for k in p.unmatched_keras], list(p.unmatched_units),
            problems)
