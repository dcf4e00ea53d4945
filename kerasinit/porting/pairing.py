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

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from kerasinit.mappings.errors import KerasInitError, format_choices, suggest
from kerasinit.modules.params import module_params
from kerasinit.porting.matching import (
    Pair,
    Unit,
    _compatible,
    _fuse_separable,
    keras_family,
    torch_units,
)
from kerasinit.porting.signature import (
    KNode,
    TNode,
    auto_name,
    keras_nodes,
    name_key,
    torch_nodes,
)
from kerasinit.porting.targets import (
    MHA_ROLES,
    bare_unit,
    find_mha_children,
    hf_conv1d_unit,
    mha_group,
    parse_mapping,
    separable_group,
)
from kerasinit.porting.trace import INPUT, Flow, example_inputs, trace

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


def units_of(model: nn.Module, bare: bool = False) -> list[Unit]:
    """The torch units: modules with a Keras view, plus Hugging Face ``Conv1D`` (as Dense), and
    with ``bare=True`` (the plan has ``LayerScale`` layers) every parameter a container holds
    itself (torchvision ``CNBlock.layer_scale``), as a unit of its own."""
    units = torch_units(model)
    inside = [u.path for u in units]
    for path, m in model.named_modules():
        if any(path == p or path.startswith(p + ".") for p in inside if p):
            continue
        extra = hf_conv1d_unit(path, m)
        if extra is not None:
            units.append(extra)
            inside.append(path)
            continue
        if bare and not module_params(m):
            units += [bare_unit(path, m, name) for name, _ in m.named_parameters(recurse=False)]
    order = {path: i for i, (path, _) in enumerate(model.named_modules())}
    return sorted(units, key=lambda u: order.get(u.path.split("+")[0].rsplit(":", 1)[0],
                                                 len(order)))


def _keras_group(plan: PlanView, key: str) -> list[PlanLayer]:
    exact = [layer for layer in plan.layers if layer.path == key]
    if exact:
        return exact
    group = [layer for layer in plan.layers if layer.path.startswith(key + "/")]
    if group:
        return group
    return [plan.layer(key)]  # unique short name, or a KerasInitError with choices


class _Pairer:
    def __init__(self, plan: PlanView, model: nn.Module, mapping: object,
                 example_input: object) -> None:
        self.plan, self.model, self.example = plan, model, example_input
        self.entries = parse_mapping(mapping)
        self.units = units_of(model, bare=any(keras_family(k.class_name).endswith("LayerScale")
                                              for k in plan.layers))
        self.problems: list[str] = []
        self.ties: list[str] = []
        self.scope_k: dict[str, int] = {}  # keras layer path -> scope id (nested-model rules)
        self.scope_t: dict[str, int] = {}  # torch unit path -> scope id
        self.fixed: list[tuple[tuple[PlanLayer, ...], Unit]] = []
        self.claimed_k: set[str] = set()  # Keras layers settled by the mapping (even if wrongly)

    # -- mapping -------------------------------------------------------------------------
    def explicit(self) -> None:
        by_path = {u.path: u for u in self.units}
        used: set[str] = set()
        for key, targets in self.entries:
            layers = tuple(_keras_group(self.plan, key))
            first = layers[0]
            family = keras_family(first.class_name)
            unit: Unit | str | None = None
            if len(targets) == 4 and family == "MultiHeadAttention":
                unit = mha_group(self.model, targets)
            elif len(targets) == 2 and family.startswith("SeparableConv"):
                unit = separable_group(self.model, targets)
            elif len(targets) > 1:
                unit = (f"a tuple of {len(targets)} modules fits a "
                        f"{'MultiHeadAttention' if len(targets) == 4 else 'SeparableConv'}, "
                        f"not {first.class_name}")
            elif targets[0] in by_path:
                unit = by_path[targets[0]]
            else:
                unit = self._container(key, layers, targets[0], by_path)
                if unit is None:
                    continue
            if isinstance(unit, str):
                self.problems.append(f"mapping {key!r} -> {targets!r}: {unit}")
                continue
            members = set(unit.names.values()) if unit.names else {unit.path}
            for u in self.units:
                if u.path in targets or any(n.startswith(u.path + ".") for n in members if u.path):
                    used.add(u.path)
            self.fixed.append((layers, unit))
            self.claimed_k.update(k.path for k in layers)
        self.units = [u for u in self.units if u.path not in used]

    def _container(self, key: str, layers: tuple[PlanLayer, ...], target: str,
                   by_path: dict[str, Unit]) -> Unit | str | None:
        try:
            sub = self.model.get_submodule(target)
        except AttributeError:
            hint = suggest(target, list(by_path))
            extra = f" Did you mean {hint!r}?" if hint else ""
            self.problems.append(f"mapping {key!r} -> {target!r}: no such torch module.{extra} "
                                 f"Modules with Keras weights: {format_choices(by_path, limit=20)}")
            self.claimed_k.update(k.path for k in layers)
            return None
        if len(layers) == 1 and keras_family(layers[0].class_name) == "MultiHeadAttention":
            found = find_mha_children(self.model, target)
            if found is not None:
                return mha_group(self.model, found)
        inside = [u for u in by_path.values() if target == "" or u.path.startswith(target + ".")]
        if not inside:
            return f"torch module {type(sub).__name__} has no Keras counterpart"
        scope = len(set(self.scope_k.values())) + 1
        for layer in layers:
            self.scope_k[layer.path] = scope
        for u in inside:
            self.scope_t[u.path] = scope
        return None

    # -- graphs --------------------------------------------------------------------------
    def keras_graph(self, knodes: list[KNode]
                    ) -> tuple[dict[int, set[int]], set[int], dict[tuple[int, int], int]]:
        """Contracted Keras graph: node -> weight-bearing predecessors (INPUT), the outputs, and
        ``(pred, node) -> i`` where the pred reaches the node through input ``i`` of a
        ``Concatenate`` (the nearest one)."""
        of_path: dict[str, int] = {}
        for n in knodes:
            for layer in n.layers:
                of_path[layer.path] = n.index
        graph = {g.path: g for g in self.plan.graph}
        if not graph:
            chain = {n.index: ({n.index - 1} if n.index else {INPUT}) for n in knodes}
            return chain, {knodes[-1].index} if knodes else set(), {}
        # layers the graph does not list (sublayers of a subclassed layer): a chain in plan
        # order standing in for their nearest listed ancestor
        chains: dict[str, list[int]] = defaultdict(list)
        for n in knodes:
            path = n.layers[0].path
            if path in graph or n.path in graph:
                continue
            parts = path.split("/")
            anchor = next((("/".join(parts[:i])) for i in range(len(parts) - 1, 0, -1)
                           if "/".join(parts[:i]) in graph), "")
            if n.index not in chains[anchor]:
                chains[anchor].append(n.index)
        memo: dict[str, set[tuple[int, int]]] = {}

        def out_of(path: str, depth: int = 0) -> set[tuple[int, int]]:
            if chains.get(path):
                return {(chains[path][-1], -1)}
            if path in of_path:
                return {(of_path[path], -1)}
            if path in memo or depth > 400:
                return memo.get(path, set())
            memo[path] = set()
            node = graph.get(path)
            if node is None or not node.inbound:
                found = {(INPUT, -1)}
            elif node.class_name == "Concatenate":
                found = {(m, i) for i, src in enumerate(node.inbound)
                         for m, _ in out_of(src, depth + 1)}
            else:
                found = set()
                for i in node.inbound:
                    found |= out_of(i, depth + 1)
            memo[path] = found
            return found

        preds: dict[int, set[int]] = {}
        positions: dict[tuple[int, int], int] = {}
        for g in self.plan.graph:
            targets = [of_path[g.path]] if g.path in of_path else []
            if chains.get(g.path):
                targets = [chains[g.path][0]]
            src: set[tuple[int, int]] = set()
            for i in g.inbound:
                src |= out_of(i)
            for t in targets:
                preds.setdefault(t, set()).update({m for m, _ in src} or {INPUT})
                positions.update({(m, t): pos for m, pos in src if pos >= 0})
        for anchor, members in chains.items():
            for a, b in itertools.pairwise(members):
                preds.setdefault(b, set()).add(a)
            if not anchor:
                preds.setdefault(members[0], set()).add(INPUT)
        for n in knodes:
            preds.setdefault(n.index, {INPUT})
        outputs: set[int] = set()
        for o in self.plan.outputs:
            outputs |= {m for m, _ in out_of(o)}
        outputs.discard(INPUT)
        return preds, outputs, positions

    def torch_flow(self, tnodes: list[TNode]) -> tuple[Flow | None, str]:
        units: list[Unit] = []
        for t in tnodes:
            if t.unit not in units:
                units.append(t.unit)
        groups = [[] if u.kind == "LayerScale" else [u.module] if not u.names else
                  _members(self.model, u) for u in units]
        params = {u.qual(u.params[0].name): i for i, u in enumerate(units)
                  if u.kind == "LayerScale"}
        if self.example is not None:
            candidates = [self.example]
        else:
            inputs = [(tuple(g.option("batch_shape") or g.option("batch_input_shape") or ()),
                       str(g.option("dtype", "float32"))) for g in self.plan.graph
                      if g.class_name == "InputLayer" or not g.inbound]
            candidates = example_inputs([i for i in inputs if i[0]])
        if not candidates:
            return None, "not traced: no example_input and no input shape in the Keras model"
        error = ""
        meta_model = any(p.is_meta for p in self.model.parameters())
        for meta in (True, False):  # shapes only first: no arithmetic, no weight copies
            if not meta and meta_model:
                break
            for example in candidates:
                try:
                    flow = trace(self.model, groups, example, meta=meta, params=params)
                except Exception as exc:  # any forward failure means "no trace"
                    error = f"{type(exc).__name__}: {str(exc)[:120]}"
                    continue
                return _node_flow(flow, units, tnodes), "traced" if meta else "traced (real)"
        return None, f"not traced: the forward failed on the example input ({error})"

    # -- torch-side groups found in the flow ------------------------------------------------
    def fuse(self, tnodes: list[TNode], preds: dict[int, set[int]],
             order: dict[int, float], positions: dict[tuple[int, int], int]) -> None:
        """Depthwise conv -> 1x1 conv with nothing between, when the plan has SeparableConvs."""
        if not any(keras_family(k.class_name).startswith("SeparableConv")
                   for k in self.plan.layers):
            return
        succs = _succs(preds)
        for i, t in enumerate(list(tnodes)):
            if not t.unit.kind.startswith("DepthwiseConv") or i not in preds:
                continue
            nxt = succs.get(i, set())
            if len(nxt) != 1:
                continue
            j = next(iter(nxt))
            if j < 0 or preds.get(j) != {i}:
                continue
            fused = _fuse_separable(t.unit, tnodes[j].unit)
            if fused is None:
                continue
            tnodes.append(torch_nodes([fused])[0])
            order[len(tnodes) - 1] = order[i]
            _merge(preds, [i, j], len(tnodes) - 1, positions)

    def group_attention(self, tnodes: list[TNode], preds: dict[int, set[int]],
                        order: dict[int, float], positions: dict[tuple[int, int], int]) -> None:
        """Four Linears q, k, v -> o (o consumes all three), when the plan has more
        MultiHeadAttention layers than the torch model has attention modules."""
        want = sum(1 for k in self.plan.layers if k.class_name == "MultiHeadAttention")
        have = sum(1 for i, t in enumerate(tnodes) if i in preds and t.sig[0] == "MultiHeadAttention")
        if want <= have:
            return
        dense = {i for i, t in enumerate(tnodes) if i in preds and t.sig[0] == "Dense"}
        for o in sorted(dense, key=lambda i: order.get(i, i)):
            if o not in preds:
                continue
            inputs = [p for p in preds[o] if p in dense and p in preds]
            by_src: dict[frozenset[int], list[int]] = defaultdict(list)
            for p in inputs:
                by_src[frozenset(preds[p])].append(p)
            qkv = next((g for g in by_src.values() if len(g) == 3), None)
            if qkv is None:
                continue
            qkv = _by_role(tnodes, sorted(qkv, key=lambda i: order.get(i, i)))
            unit = mha_group(self.model, tuple(tnodes[i].unit.path for i in (*qkv, o)))
            if isinstance(unit, str):
                continue
            tnodes.append(TNode(unit, 0, ("MultiHeadAttention",)))
            order[len(tnodes) - 1] = order[qkv[0]]
            _merge(preds, [*qkv, o], len(tnodes) - 1, positions)
            dense -= {*qkv, o}


def _members(model: nn.Module, unit: Unit) -> list[nn.Module]:
    out = []
    for name in unit.names.values():
        path = name.rsplit(".", 1)[0] if "." in name else ""
        try:
            m = model.get_submodule(path)
        except AttributeError:
            continue
        if m not in out:
            out.append(m)
    return out or [unit.module]


def _succs(preds: dict[int, set[int]]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for n, ps in preds.items():
        for p in ps:
            out[p].add(n)
    return out


def _merge(preds: dict[int, set[int]], members: list[int], new: int,
           positions: dict[tuple[int, int], int] | None = None) -> None:
    gone = set(members)
    if positions is not None:  # concatenation positions move to the merged node
        for (a, b), i in list(positions.items()):
            if a in gone or b in gone:
                del positions[(a, b)]
                if not (a in gone and b in gone):
                    positions[(new if a in gone else a, new if b in gone else b)] = i
    preds[new] = set().union(*(preds.pop(m, set()) for m in members)) - gone
    for n, ps in preds.items():
        if ps & gone:
            preds[n] = (ps - gone) | {new}


def _by_role(tnodes: list[TNode], qkv: list[int]) -> list[int]:
    named: dict[str, int] = {}
    for i in qkv:
        last = tnodes[i].unit.path.rsplit(".", 1)[-1]
        for role in "qkv":
            if last in MHA_ROLES[role]:
                named[role] = i
    if len(named) == 3:
        return [named["q"], named["k"], named["v"]]
    return qkv


def _node_flow(flow: Flow, units: list[Unit], tnodes: list[TNode]) -> Flow:
    """The unit-level flow as a node-level flow (a torch RNN's layers form a chain)."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, t in enumerate(tnodes):
        u = units.index(t.unit)
        first.setdefault(u, i)
        last[u] = i
    out = Flow()
    for i, t in enumerate(tnodes):
        u = units.index(t.unit)
        if first[u] != i:
            out.preds[i] = {i - 1}
        elif u in flow.preds:
            out.preds[i] = {INPUT if p == INPUT else last[p] for p in flow.preds[u]}
    for u in flow.order:
        out.order += [i for i in range(first[u], last[u] + 1)]
    out.outputs = {last[u] for u in flow.outputs}
    out.positions = {(INPUT if p == INPUT else last[p], first[u]): pos
                     for (p, u), pos in flow.positions.items()}
    return out


_Id = tuple[str, int]
_OUT = -2


def refine(kpreds: dict[int, set[int]], tpreds: dict[int, set[int]], start: dict[_Id, object],
           anchors: list[tuple[set[int], set[int]]],
           positions: tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]] = ({}, {}),
           ) -> tuple[dict[int, int], list[tuple[list[int], list[int]]]]:
    """Weisfeiler-Lehman refinement over both graphs; returns unique pairs and the classes
    seen at every round (finest last) for tie handling. An edge that enters a concatenation
    at position ``i`` (``positions``, Keras then torch) carries ``i`` into the labels."""
    edge: dict[tuple[_Id, _Id], int] = {}
    for side, pos in zip("kt", positions, strict=True):
        for (a, b), i in pos.items():
            edge[((side, a), (side, b))] = i
    intern: dict[object, int] = {}

    def cid(key: object) -> int:
        return intern.setdefault(key, len(intern))

    preds: dict[_Id, list[_Id]] = {}
    for side, graph in (("k", kpreds), ("t", tpreds)):
        for index, sources in graph.items():
            preds[(side, index)] = [(side, p) for p in sources]
    succs: dict[_Id, list[_Id]] = defaultdict(list)
    for node_id, pred_ids in preds.items():
        for pred_id in pred_ids:
            succs[pred_id].append(node_id)
    color: dict[_Id, int] = {n: cid(("sig", key)) for n, key in start.items()}
    for side in "kt":
        color[(side, INPUT)] = cid("IN")
        color[(side, _OUT)] = cid("OUT")
    frozen: set[_Id] = {(s, INPUT) for s in "kt"} | {(s, _OUT) for s in "kt"}
    for i, (anchor_k, anchor_t) in enumerate(anchors):
        for k in anchor_k:
            color[("k", k)] = cid(("anchor", i))
            frozen.add(("k", k))
        for t in anchor_t:
            color[("t", t)] = cid(("anchor", i))
            frozen.add(("t", t))
    pairs: dict[int, int] = {}
    history: list[list[tuple[list[int], list[int]]]] = []
    for _ in range(len(color) + 2):
        classes: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for node, c in color.items():
            if node not in frozen:
                classes[c][0 if node[0] == "k" else 1].append(node[1])
        new = 0
        for ks, ts in classes.values():
            if len(ks) == 1 and len(ts) == 1:
                pairs[ks[0]] = ts[0]
                c = cid(("pair", ks[0]))
                color[("k", ks[0])] = color[("t", ts[0])] = c
                frozen |= {("k", ks[0]), ("t", ts[0])}
                new += 1
        history.append([(ks, ts) for ks, ts in classes.values() if ks and ts])
        before = len({c for n, c in color.items() if n not in frozen})
        nxt = {n: cid((c, tuple(sorted((color[p], edge.get((p, n), -1))
                                       for p in preds.get(n, ()))),
                       tuple(sorted((color[s], edge.get((n, s), -1))
                                    for s in succs.get(n, ())))))
               for n, c in color.items() if n not in frozen}
        color.update(nxt)
        if new == 0 and len(set(nxt.values())) == before:
            break
    return pairs, [c for round_ in reversed(history) for c in round_]


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
    me = _Pairer(plan, model, mapping, example_input)
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
    start: dict[_Id, object] = {}
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
    kpreds = {**kpreds, _OUT: kout}
    tpreds = {**tpreds, _OUT: tout}
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
           start: dict[_Id, object], settled_k: set[int], settled_t: set[int]) -> dict[int, int]:
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


def _assemble(me: _Pairer, knodes: list[KNode], tnodes: list[TNode], live: list[int],
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
