"""Infer the order in which code constructed (Keras 3) or first called (tf_keras) a model's layers.

A saved functional config lists layers by depth, not in the order the code made them, and
``set_random_seed`` replay needs the latter. This module infers it from the config alone:

1. **The graph.** Code that makes each layer where it calls it (``x = Conv2D(...)(x)``) makes
   the layers in a topological order of the layer graph: a layer whose input another layer
   produces comes after it. A pair of drawing layers on independent branches is not ordered by
   the graph.
2. **Keras's automatic names.** An unnamed layer is called ``<class in snake_case>_<n>``
   (``conv2d``, ``conv2d_1``, ...), numbered when it is constructed: among the layers of one
   class, the numbers give the construction order (InceptionV3).
3. **Numbered explicit names.** Names that agree in every token but one, which carries a number
   (``conv2_block1_0_conv`` / ``conv2_block1_1_conv``, ``block2_sepconv1`` /
   ``block2_sepconv2``) are taken to be made in numeric order (ResNet's shortcut ``_0_conv``).
4. **A tie-breaker** for what remains: continue the branch made last (depth first), and among
   sibling branches start with the shorter one (a shortcut before the main path, as ResNet and
   Xception do).

Nested models (a ``Sequential`` inside a functional model) construct their layers when they
are constructed; Keras 3 code often makes them ahead of their call (ConvNeXt makes its stem and
downsampling blocks before any stage), so for the construction rule they are placed first. For
the first-call rule (tf_keras) they stay where the graph calls them.

Every drawing layer gets a confidence: ``"certain"`` when the graph alone orders it against
every other drawing layer, ``"inferred"`` when names (rules 2 and 3) order the rest, and
``"uncertain"`` when the tie-breaker or the nested-model rule decided.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Confidence", "InferredOrder", "infer_order", "keras_auto_prefix"]

Confidence = Literal["certain", "inferred", "uncertain"]
_RANK: dict[Confidence, int] = {"certain": 0, "inferred": 1, "uncertain": 2}
_MODELS = ("Sequential", "Functional", "Model")
_NUMBERED = re.compile(r"([a-z]*)(\d+)")
_MAX_TOKENS = 16  # name tokens looked at for numbers
_MAX_HINTS = 200_000  # numbered-name pairs, at most


@dataclass(frozen=True)
class InferredOrder:
    """Draw groups in the inferred order, with a confidence for each.

    Attributes:
        order: every drawing group (``Draw.layer``), in the inferred order.
        confidence: group -> ``"certain"``, ``"inferred"`` or ``"uncertain"``.
        why: group -> what decided an uncertain group's place ("" otherwise).
    """

    order: tuple[str, ...] = ()
    confidence: Mapping[str, Confidence] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)


def keras_auto_prefix(class_name: str) -> str:
    """The prefix of Keras's automatic layer names for a class (``to_snake_case``).

    Example:
        >>> keras_auto_prefix("BatchNormalization"), keras_auto_prefix("Conv2D")
        ('batch_normalization', 'conv2d')
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _auto_number(name: str, class_name: str) -> int | None:
    prefix = keras_auto_prefix(class_name)
    if name == prefix:
        return 0
    if name.startswith(prefix + "_") and name[len(prefix) + 1:].isdigit():
        return int(name[len(prefix) + 1:])
    return None


def _history(obj: object, out: list[str], depth: int = 0) -> None:
    """Names of the layers a functional node reads (Keras 3 ``keras_history`` or legacy lists)."""
    if depth > 50:
        return
    if isinstance(obj, Mapping):
        inner = obj.get("config")
        hist = inner.get("keras_history") if isinstance(inner, Mapping) else None
        if isinstance(hist, list) and hist and isinstance(hist[0], str):
            out.append(hist[0])
            return
        for v in obj.values():
            _history(v, out, depth + 1)
    elif isinstance(obj, list):
        if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int):
            out.append(obj[0])
            if len(obj) > 3:  # tf.keras call kwargs may hold tensors: {"y": ["add_1", 0, 0]}
                _history(obj[3], out, depth + 1)
            return
        for v in obj:
            _history(v, out, depth + 1)


@dataclass
class _Node:
    name: str
    class_name: str
    config: Mapping[str, Any]
    parents: list[int] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # the draw groups it holds, in order


def _entries(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    inner = config.get("config")
    entries = inner.get("layers") if isinstance(inner, Mapping) else inner
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []


def _name(entry: Mapping[str, Any]) -> str:
    cfg = entry.get("config")
    return str((cfg.get("name") if isinstance(cfg, Mapping) else None) or entry.get("name"))


def infer_order(config: Mapping[str, Any], groups: Sequence[str],
                rule: Literal["construction", "first call"]) -> InferredOrder:
    """The order the model's code made (or first called) its drawing layers, inferred.

    Args:
        config: the model config ``{"class_name", "config"}``.
        groups: the draw groups (``Draw.layer``: top-level names, ``outer/inner`` paths for
            layers of nested models), in config order.
        rule: ``"construction"`` (Keras 3) or ``"first call"`` (tf_keras).

    Returns:
        Every group, ordered; groups the config does not place keep their config position.

    Example:
        >>> def conv(name, parent):
        ...     return {"class_name": "Conv2D", "config": {"name": name},
        ...             "inbound_nodes": [[[parent, 0, 0, {}]]]}
        >>> cfg = {"class_name": "Functional", "config": {"layers": [
        ...     {"class_name": "InputLayer", "config": {"name": "x"}, "inbound_nodes": []},
        ...     conv("conv2d_1", "x"), conv("conv2d", "x")]}}
        >>> got = infer_order(cfg, ["conv2d_1", "conv2d"], "construction")
        >>> got.order, got.confidence["conv2d"]
        (('conv2d', 'conv2d_1'), 'inferred')
    """
    placed, confidence, why = _order_model(config, "", list(groups), rule, depth=0)
    rest = [g for g in groups if g not in confidence]
    for g in rest:
        confidence[g] = "certain"
    return InferredOrder((*placed, *rest), confidence, why)


def _order_model(config: Mapping[str, Any], prefix: str, groups: list[str], rule: str,
                 depth: int) -> tuple[list[str], dict[str, Confidence], dict[str, str]]:
    nodes: list[_Node] = []
    index: dict[str, int] = {}
    for e in _entries(config):
        name = _name(e)
        if name in index:
            continue
        index[name] = len(nodes)
        nodes.append(_Node(name, str(e.get("class_name")), e))
    mine = [g for g in groups if g.startswith(prefix)]
    for g in mine:
        head = g[len(prefix):].split("/", 1)[0]
        if head in index:
            nodes[index[head]].groups.append(g)
    confidence: dict[str, Confidence] = {}
    why: dict[str, str] = {}
    for node in nodes:  # nested models: their own order inside
        if node.class_name in _MODELS and node.groups and depth < 20:
            inner, conf, reasons = _order_model(node.config, f"{prefix}{node.name}/",
                                                node.groups, rule, depth + 1)
            node.groups = inner + [g for g in node.groups if g not in conf]
            confidence.update(conf)
            why.update(reasons)
    if config.get("class_name") == "Sequential" or not nodes:
        out = [g for n in nodes for g in n.groups]
        for g in out:
            confidence.setdefault(g, "certain")
        return out, confidence, why
    for i, node in enumerate(nodes):
        found: list[str] = []
        _history(node.config.get("inbound_nodes"), found)
        for parent in dict.fromkeys(found):
            if parent in index and index[parent] != i:
                node.parents.append(index[parent])
                nodes[index[parent]].children.append(i)
    order, unit_conf, unit_why = _order_units(nodes, rule)
    placed: list[str] = []
    for i in order:
        for g in nodes[i].groups:
            placed.append(g)
            within: Confidence = confidence.get(g, "certain")
            confidence[g] = unit_conf[i] if _RANK[unit_conf[i]] > _RANK[within] else within
            if unit_why.get(i) and not why.get(g):
                why[g] = unit_why[i]
    return placed, confidence, why


def _bits(order: Sequence[int], links: Callable[[int], Sequence[int]],
          unit_bit: Sequence[int]) -> list[int]:
    """Per node, the bitset (a Python int over unit indices) of the units reached through
    ``links`` (parents: ancestors, children: descendants); ``order`` visits links first."""
    out = [0] * len(unit_bit)
    for v in order:
        bits = 0
        for w in links(v):
            bits |= out[w] | unit_bit[w]
        out[v] = bits
    return out


def _kahn(n: int, succ: Sequence[Sequence[int]], key: Callable[[int], Any]) -> list[int] | None:
    """A topological order of ``n`` nodes, the ready node with the smallest ``key`` first
    (``key`` must be fixed once a node is ready); None for a cycle."""
    indeg = [0] * n
    for v in range(n):
        for c in succ[v]:
            indeg[c] += 1
    heap = [(key(v), v) for v in range(n) if indeg[v] == 0]
    heapq.heapify(heap)
    out: list[int] = []
    while heap:
        _, v = heapq.heappop(heap)
        out.append(v)
        for c in succ[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(heap, (key(c), c))
    return out if len(out) == n else None


def _branch_length(nodes: Sequence[_Node], v: int) -> int:
    """How many layers the branch starting at ``v`` runs before it merges or forks."""
    length, seen = 1, {v}
    while len(nodes[v].children) == 1:
        child = nodes[v].children[0]
        if len(nodes[child].parents) != 1 or child in seen:
            break
        v = child
        seen.add(v)
        length += 1
    return length


def _hints(nodes: Sequence[_Node], units: Sequence[int]) -> list[tuple[int, int, str]]:
    """Pairs (a, b, kind): names say ``a`` was made before ``b`` (automatic names first)."""
    out: list[tuple[int, int, str]] = []
    by_class: dict[str, list[tuple[int, int]]] = {}
    numbered: dict[tuple[tuple[str, ...], str, tuple[str, ...]], dict[int, list[int]]] = {}
    for u in units:
        node = nodes[u]
        auto = _auto_number(node.name, node.class_name)
        if auto is not None:
            by_class.setdefault(node.class_name, []).append((auto, u))
            continue
        tokens = node.name.split("_")
        for k, token in enumerate(tokens[:_MAX_TOKENS]):
            m = _NUMBERED.fullmatch(token)
            if m:
                key = (tuple(tokens[:k]), m.group(1), tuple(tokens[k + 1:]))
                numbered.setdefault(key, {}).setdefault(int(m.group(2)), []).append(u)
    for members in by_class.values():
        members.sort()
        out += [(a, b, "automatic") for (_, a), (_, b) in itertools.pairwise(members)]
    budget = _MAX_HINTS
    for numbers in numbered.values():
        for lo, hi in itertools.pairwise(sorted(numbers)):
            pairs = len(numbers[lo]) * len(numbers[hi])
            if pairs > budget:
                continue
            budget -= pairs
            out += [(a, b, "numbered") for a in numbers[lo] for b in numbers[hi] if a != b]
    return out


def _order_units(nodes: list[_Node], rule: str) -> tuple[list[int], dict[int, Confidence],
                                                          dict[int, str]]:
    """Order the nodes that draw; each gets a confidence."""
    n = len(nodes)
    topo = _kahn(n, [node.children for node in nodes], lambda v: v)  # config order first
    units = [i for i, node in enumerate(nodes) if node.groups]
    if topo is None:  # not a DAG (a malformed config): keep the config order
        return units, dict.fromkeys(units, "uncertain"), dict.fromkeys(
            units, "the layer graph has a cycle; config order kept")
    nested = {u for u in units if nodes[u].class_name in _MODELS} if rule == "construction" \
        else set()
    unit_bit = [0] * n
    for k, u in enumerate(units):
        unit_bit[u] = 1 << k
    own = sum(unit_bit[u] for u in units if u not in nested)  # the units placed by the graph
    anc = _bits(topo, lambda v: nodes[v].parents, unit_bit)
    desc = _bits(topo[::-1], lambda v: nodes[v].children, unit_bit)
    hints = [(a, b, kind) for a, b, kind in _hints(nodes, [u for u in units if u not in nested])
             if not (anc[a] & unit_bit[b] or anc[b] & unit_bit[a])]  # the graph wins
    rank = _preference(nodes, topo)
    order: list[int] | None = None
    for kinds in (("automatic", "numbered"), ("automatic",), ()):
        succ = [list(node.children) for node in nodes]
        for a, b, kind in hints:
            if kind in kinds:
                succ[a].append(b)
        order = _kahn(n, succ, lambda v: rank[v])
        if order is not None:
            break
    assert order is not None  # without hints the graph is a DAG
    cparents: list[list[int]] = [[] for _ in range(n)]
    for v in range(n):
        for c in succ[v]:
            cparents[c].append(v)
    canc = _bits(order, lambda v: cparents[v], unit_bit)
    cdesc = _bits(order[::-1], lambda v: succ[v], unit_bit)
    placed = sorted(nested, key=lambda u: rank[u]) + [v for v in order
                                                       if unit_bit[v] and v not in nested]
    confidence: dict[int, Confidence] = {}
    why: dict[int, str] = {}
    for u in units:
        loose = own & ~anc[u] & ~desc[u] & ~unit_bit[u]
        if u in nested:
            if loose or anc[u] & own:
                confidence[u] = "uncertain"
                why[u] = "a nested model: taken to be constructed before the model's own layers"
            else:
                confidence[u] = "certain"
            continue
        unordered = loose & ~canc[u] & ~cdesc[u]
        confidence[u] = "certain" if not loose else "inferred" if not unordered else "uncertain"
        if unordered:
            other = units[(unordered & -unordered).bit_length() - 1]
            why[u] = (f"on a branch independent of {nodes[other].name}: order guessed "
                      f"(shorter branch first)")
    return placed, confidence, why


def _preference(nodes: Sequence[_Node], topo: Sequence[int]) -> list[int]:
    """A rank per node from a depth-first topological order: continue the branch placed
    last; among siblings, the shorter branch first; then config order."""
    n = len(nodes)
    position = [-1] * n
    lengths = [_branch_length(nodes, i) for i in range(n)]
    succ = [node.children for node in nodes]

    def key(v: int) -> tuple[int, int, int]:  # fixed once v is ready: its parents are placed
        last = max((position[p] for p in nodes[v].parents), default=-1)
        return (-last, lengths[v], v)

    indeg = [len(node.parents) for node in nodes]
    heap = [(key(v), v) for v in topo if indeg[v] == 0]
    heapq.heapify(heap)
    step = 0
    while heap:
        _, v = heapq.heappop(heap)
        position[v] = step
        step += 1
        for c in succ[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(heap, (key(c), c))
    return position
