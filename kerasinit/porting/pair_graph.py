"""Graph helpers of the structural pairing: merging nodes, the unit-level trace as a node-level
flow, and the Weisfeiler-Lehman refinement over the Keras and torch graphs.

Example:
    >>> pairs, _ = refine({0: {-1}}, {0: {-1}}, {("k", 0): "Dense", ("t", 0): "Dense"}, [])
    >>> pairs
    {0: 0}
"""

from __future__ import annotations

from collections import defaultdict

from torch import nn

from kerasinit.porting.matching import Unit
from kerasinit.porting.signature import TNode
from kerasinit.porting.targets import MHA_ROLES
from kerasinit.porting.trace import INPUT, Flow

__all__ = ["OUT", "NodeId", "by_role", "members_of", "merge_nodes", "node_flow", "refine",
           "successors"]

def members_of(model: nn.Module, unit: Unit) -> list[nn.Module]:
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


def successors(preds: dict[int, set[int]]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for n, ps in preds.items():
        for p in ps:
            out[p].add(n)
    return out


def merge_nodes(preds: dict[int, set[int]], members: list[int], new: int,
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


def by_role(tnodes: list[TNode], qkv: list[int]) -> list[int]:
    named: dict[str, int] = {}
    for i in qkv:
        last = tnodes[i].unit.path.rsplit(".", 1)[-1]
        for role in "qkv":
            if last in MHA_ROLES[role]:
                named[role] = i
    if len(named) == 3:
        return [named["q"], named["k"], named["v"]]
    return qkv


def node_flow(flow: Flow, units: list[Unit], tnodes: list[TNode]) -> Flow:
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


NodeId = tuple[str, int]
OUT = -2


def refine(kpreds: dict[int, set[int]], tpreds: dict[int, set[int]], start: dict[NodeId, object],
           anchors: list[tuple[set[int], set[int]]],
           positions: tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]] = ({}, {}),
           ) -> tuple[dict[int, int], list[tuple[list[int], list[int]]]]:
    """Weisfeiler-Lehman refinement over both graphs; returns unique pairs and the classes
    seen at every round (finest last) for tie handling. An edge that enters a concatenation
    at position ``i`` (``positions``, Keras then torch) carries ``i`` into the labels."""
    edge: dict[tuple[NodeId, NodeId], int] = {}
    for side, pos in zip("kt", positions, strict=True):
        for (a, b), i in pos.items():
            edge[((side, a), (side, b))] = i
    intern: dict[object, int] = {}

    def cid(key: object) -> int:
        return intern.setdefault(key, len(intern))

    preds: dict[NodeId, list[NodeId]] = {}
    for side, graph in (("k", kpreds), ("t", tpreds)):
        for index, sources in graph.items():
            preds[(side, index)] = [(side, p) for p in sources]
    succs: dict[NodeId, list[NodeId]] = defaultdict(list)
    for node_id, pred_ids in preds.items():
        for pred_id in pred_ids:
            succs[pred_id].append(node_id)
    color: dict[NodeId, int] = {n: cid(("sig", key)) for n, key in start.items()}
    for side in "kt":
        color[(side, INPUT)] = cid("IN")
        color[(side, OUT)] = cid("OUT")
    frozen: set[NodeId] = {(s, INPUT) for s in "kt"} | {(s, OUT) for s in "kt"}
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
