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
3. **Numbered explicit names.** Names that agree up to one token and carry numbers there
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


def _ancestors(n: int, parents: Callable[[int], Sequence[int]], topo: Sequence[int]) -> list[int]:
    """Ancestor bitsets (Python ints) for nodes given in a topological order."""
    anc = [0] * n
    for v in topo:
        bits = 0
        for p in parents(v):
            bits |= anc[p] | (1 << p)
        anc[v] = bits
    return anc


def _topo(nodes: Sequence[_Node]) -> list[int] | None:
    """Kahn's order of the config graph (config index first), or None for a cycle."""
    indeg = [len(n.parents) for n in nodes]
    ready = [i for i, d in enumerate(indeg) if d == 0]
    out: list[int] = []
    while ready:
        ready.sort()
        v = ready.pop(0)
        out.append(v)
        for c in nodes[v].children:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    return out if len(out) == len(nodes) else None


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
    """Pairs (a, b, kind): names say ``a`` was made before ``b``."""
    out: list[tuple[int, int, str]] = []
    by_class: dict[str, list[tuple[int, int]]] = {}
    numbered: dict[tuple[tuple[str, ...], str], dict[int, list[int]]] = {}
    for u in units:
        node = nodes[u]
        auto = _auto_number(node.name, node.class_name)
        if auto is not None:
            by_class.setdefault(node.class_name, []).append((auto, u))
            continue
        tokens = node.name.split("_")
        for k, token in enumerate(tokens):
            m = _NUMBERED.fullmatch(token)
            if m:
                key = (tuple(tokens[:k]), m.group(1))
                numbered.setdefault(key, {}).setdefault(int(m.group(2)), []).append(u)
    for members in by_class.values():
        members.sort()
        out += [(a, b, "automatic names") for (_, a), (_, b) in itertools.pairwise(members)]
    for numbers in numbered.values():
        keys = sorted(numbers)
        for lo, hi in itertools.pairwise(keys):
            out += [(a, b, "numbered names") for a in numbers[lo] for b in numbers[hi]
                    if a != b]
    return out


def _order_units(nodes: list[_Node], rule: str) -> tuple[list[int], dict[int, Confidence],
                                                          dict[int, str]]:
    """Order the nodes that draw; each gets a confidence."""
    n = len(nodes)
    topo = _topo(nodes)
    units = [i for i, node in enumerate(nodes) if node.groups]
    if topo is None:  # not a DAG (a malformed config): keep the config order
        return units, dict.fromkeys(units, "uncertain"), dict.fromkeys(
            units, "the layer graph has a cycle; config order kept")
    graph_anc = _ancestors(n, lambda v: nodes[v].parents, topo)
    nested = {u for u in units if nodes[u].class_name in _MODELS} if rule == "construction" \
        else set()
    # the DAG over units: graph ancestry, then hints that do not contradict it
    preds: dict[int, set[int]] = {u: {a for a in units if graph_anc[u] >> a & 1} for u in units}
    closure = {u: set(p) for u, p in preds.items()}
    for a, b, _kind in _hints(nodes, [u for u in units if u not in nested]):
        if a in closure[b] or b in closure[a]:
            continue
        preds[b].add(a)
        closure_b = closure[a] | {a}
        for u in units:  # b and everything after b now follow a
            if u == b or b in closure[u]:
                closure[u] |= closure_b
    # tie-breaker: depth first along the graph, shorter sibling branch first
    rank = _preference(nodes, topo)
    order: list[int] = [u for u in units if u in nested]
    order.sort(key=lambda u: rank[u])
    done = set(order)
    rest = [u for u in units if u not in nested]
    while rest:
        ready = [u for u in rest if all(p in done or p in nested for p in preds[u])]
        if not ready:  # cannot happen for a DAG; keep the config order
            ready = rest[:1]
        pick = min(ready, key=lambda u: rank[u])
        order.append(pick)
        done.add(pick)
        rest.remove(pick)
    confidence: dict[int, Confidence] = {}
    why: dict[int, str] = {}
    for u in units:
        if u in nested:
            drawn_before = [a for a in units if a not in nested and graph_anc[u] >> a & 1]
            loose = [a for a in units if a != u and a not in nested
                     and not (graph_anc[u] >> a & 1 or graph_anc[a] >> u & 1)]
            if drawn_before or loose:
                confidence[u] = "uncertain"
                why[u] = "a nested model: taken to be constructed before the model's own layers"
            else:
                confidence[u] = "certain"
            continue
        loose = [a for a in units if a != u and a not in nested
                 and not (graph_anc[u] >> a & 1 or graph_anc[a] >> u & 1)]
        if not loose:
            confidence[u] = "certain"
        elif all(a in closure[u] or u in closure[a] for a in loose):
            confidence[u] = "inferred"
        else:
            confidence[u] = "uncertain"
            other = next(nodes[a].name for a in loose
                         if not (a in closure[u] or u in closure[a]))
            why[u] = f"on a branch independent of {other}: order guessed (shorter branch first)"
    return order, confidence, why


def _preference(nodes: Sequence[_Node], topo: Sequence[int]) -> list[int]:
    """A rank per node from a depth-first topological order: continue the branch placed
    last; among siblings, the shorter branch first; then config order."""
    n = len(nodes)
    indeg = [len(node.parents) for node in nodes]
    position = [-1] * n
    ready = [i for i in topo if indeg[i] == 0]
    lengths = [_branch_length(nodes, i) for i in range(n)]
    step = 0
    while ready:
        def key(v: int) -> tuple[int, int, int]:
            last = max((position[p] for p in nodes[v].parents), default=-1)
            return (-last, lengths[v], v)

        v = min(ready, key=key)
        ready.remove(v)
        position[v] = step
        step += 1
        for c in nodes[v].children:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    return position
