"""The two sides of the structural pairing: the torch units of a model, explicit ``mapping``
entries, the contracted Keras graph, the traced torch flow, and the torch-side groups found in it
(a depthwise + pointwise conv as one SeparableConv, four Linears as one MultiHeadAttention).

Example:
    >>> from torch import nn
    >>> [u.path for u in units_of(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))]
    ['0', '2']
"""

from __future__ import annotations

import itertools
import sys
from collections import defaultdict
from typing import TYPE_CHECKING

import torch
from torch import nn

from kerasinit.mappings.errors import format_choices, suggest
from kerasinit.modules.params import module_params
from kerasinit.porting.matching import Unit, _fuse_separable, keras_family, torch_units
from kerasinit.porting.pair_graph import by_role, members_of, merge_nodes, node_flow, successors
from kerasinit.porting.signature import KNode, TNode, torch_nodes
from kerasinit.porting.targets import (
    bare_unit,
    find_mha_children,
    hf_conv1d_unit,
    mha_group,
    parse_mapping,
    separable_group,
)
from kerasinit.porting.trace import INPUT, Flow, chain_flow, example_inputs, trace

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanLayer, PlanView

__all__ = ["Pairer", "keras_group", "units_of"]


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


#: Unit kinds whose forward costs about (tokens x parameters) multiply-adds.
_TOKENWISE = frozenset({"Dense", "LayerNormalization", "RMSNormalization", "Embedding"})


def _small_forward(units: list[Unit], example: object, model: nn.Module) -> bool:
    """Whether one real forward on ``example`` costs less than a first meta trace.

    A meta trace runs torch's Python meta kernels, whose first use in a process imports
    ``torch._dynamo`` and sympy (1-3 s, ~75 MiB); once they are imported it is the cheaper
    trace. Before that, a model of token-wise layers on CPU with an input of at most
    2^30 / parameters tokens (an MLP, a small text model at batch 1) is traced by its real
    forward instead: at most 256 such layers and ~2^30 multiply-adds.
    """
    if "torch._dynamo" in sys.modules or not 0 < len(units) <= 256 or any(
            u.kind not in _TOKENWISE for u in units):
        return False
    params = list(model.parameters())
    if any(p.device.type != "cpu" for p in params):
        return False
    tensors = [t for t in _flat(example) if t.device.type == "cpu"]
    if not tensors:
        return False
    tokens = max(t.numel() // (t.shape[-1] if t.is_floating_point() and t.dim() else 1)
                 for t in tensors)
    return tokens * sum(p.numel() for p in params) <= 2**30


def _flat(obj: object) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for v in obj for t in _flat(v)]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _flat(v)]
    return []


def keras_group(plan: PlanView, key: str) -> list[PlanLayer]:
    exact = [layer for layer in plan.layers if layer.path == key]
    if exact:
        return exact
    group = [layer for layer in plan.layers if layer.path.startswith(key + "/")]
    if group:
        return group
    return [plan.layer(key)]  # unique short name, or a KerasInitError with choices


class Pairer:
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
            layers = tuple(keras_group(self.plan, key))
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
        if self.fixed and not self.units and not any(
                keras_family(k.class_name).startswith("SeparableConv") for k in self.plan.layers):
            return None, "not traced: mapping= pairs every torch module"
        units: list[Unit] = []
        for t in tnodes:
            if t.unit not in units:
                units.append(t.unit)
        groups = [[] if u.kind == "LayerScale" else [u.module] if not u.names else
                  members_of(self.model, u) for u in units]
        params = {u.qual(u.params[0].name): i for i, u in enumerate(units)
                  if u.kind == "LayerScale"}
        chain = chain_flow(self.model, groups)
        if chain is not None:
            return node_flow(chain, units, tnodes), "a chain of nn.Sequential (not traced)"
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
        real_first = not meta_model and _small_forward(units, candidates[0], self.model)
        for meta in (False, True) if real_first else (True, False):
            if not meta and meta_model:
                break
            for example in candidates:
                try:
                    flow = trace(self.model, groups, example, meta=meta, params=params)
                except Exception as exc:  # any forward failure means "no trace"
                    error = f"{type(exc).__name__}: {str(exc)[:120]}"
                    continue
                real = "" if meta or real_first else " (real)"
                return node_flow(flow, units, tnodes), f"traced{real}"
        return None, f"not traced: the forward failed on the example input ({error})"

    # -- torch-side groups found in the flow ------------------------------------------------
    def fuse(self, tnodes: list[TNode], preds: dict[int, set[int]],
             order: dict[int, float], positions: dict[tuple[int, int], int]) -> None:
        """Depthwise conv -> 1x1 conv with nothing between, when the plan has SeparableConvs."""
        if not any(keras_family(k.class_name).startswith("SeparableConv")
                   for k in self.plan.layers):
            return
        succs = successors(preds)
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
            merge_nodes(preds, [i, j], len(tnodes) - 1, positions)

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
            qkv = by_role(tnodes, sorted(qkv, key=lambda i: order.get(i, i)))
            unit = mha_group(self.model, tuple(tnodes[i].unit.path for i in (*qkv, o)))
            if isinstance(unit, str):
                continue
            tnodes.append(TNode(unit, 0, ("MultiHeadAttention",)))
            order[len(tnodes) - 1] = order[qkv[0]]
            merge_nodes(preds, [*qkv, o], len(tnodes) - 1, positions)
            dense -= {*qkv, o}
