"""The data flow between a torch model's weight-bearing modules, from one forward pass.

:func:`trace` runs the model once on an example input (eval mode, no grad, the global RNG and
every module's ``training`` flag restored afterwards) and follows every tensor: a torch function
outside the traced modules passes on the sources of its inputs (``x + shortcut`` depends on both
branches), a traced module's output depends on that module only. The result is, for each traced
module, the traced modules (or the model input) its inputs came from, and the order of the calls.
Parameters, buffers and constants carry no source.

:func:`example_inputs` builds candidate inputs from the Keras input layers' shapes (batch 1,
channels moved first for image-like inputs, integer inputs as zeros).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.overrides import TorchFunctionMode

__all__ = ["INPUT", "Flow", "chain_flow", "example_inputs", "trace"]

INPUT = -1  # the source index of the model's own inputs
_CATS = (torch.cat, torch.concat, torch.concatenate)


@dataclass
class Flow:
    """The traced data flow.

    Attributes:
        preds: for each traced module index, the indices whose outputs reach its inputs
            (:data:`INPUT` for the model input).
        order: module indices in the order of their first call.
        outputs: the indices whose outputs reach the model's output.
        positions: ``(pred, module) -> i`` when the pred's output reaches the module through
            position ``i`` of a concatenation (the nearest one), the order a graph keeps.
    """

    preds: dict[int, set[int]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    outputs: set[int] = field(default_factory=set)
    positions: dict[tuple[int, int], int] = field(default_factory=dict)


def _tensors(obj: object, depth: int = 0) -> Iterator[torch.Tensor]:
    if depth > 8:
        return
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v, depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v, depth + 1)
    elif hasattr(obj, "__dataclass_fields__") or hasattr(obj, "to_tuple"):
        values = obj.to_tuple() if hasattr(obj, "to_tuple") else (
            getattr(obj, k) for k in obj.__dataclass_fields__)  # type: ignore[attr-defined]
        for v in values:
            yield from _tensors(v, depth + 1)


class _Tracer(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[int, set[tuple[int, int]]] = {}  # id -> {(module, cat position)}
        self.keep: list[torch.Tensor] = []  # ids stay unique while the trace runs
        self.depth = 0
        self.flow = Flow()
        self.bare: dict[int, int] = {}  # id of a parameter that is a unit -> its index

    def source(self, args: object) -> set[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        for t in _tensors(args):
            found |= self.sources.get(id(t), set())
        return found

    def mark(self, out: object, src: set[tuple[int, int]]) -> None:
        for t in _tensors(out):
            self.sources[id(t)] = set(src)
            self.keep.append(t)

    def __torch_function__(self, func: Any, types: Any, args: Sequence[Any] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.depth == 0 and self.bare:
            used = [self.bare[id(t)] for t in _tensors((args, kwargs)) if id(t) in self.bare]
            if used:
                index = used[0]
                for origin, pos in self.source((args, kwargs)):
                    self.flow.preds.setdefault(index, set()).add(origin)
                    if pos >= 0:
                        self.flow.positions[(origin, index)] = pos
                self.flow.preds.setdefault(index, set())
                if index not in self.flow.order:
                    self.flow.order.append(index)
                self.mark(out, {(index, -1)})
                return out
        if self.depth == 0:
            parts = kwargs.get("tensors", args[0] if args else None)
            if func in _CATS and isinstance(parts, (list, tuple)):
                src = {(m, i) for i, t in enumerate(parts) for m, _ in self.source(t)}
            else:
                src = self.source((args, kwargs))
            if src:
                self.mark(out, src)
        return out


def trace(model: nn.Module, modules: Sequence[Sequence[nn.Module]],
          example: object, meta: bool = False, params: dict[str, int] | None = None) -> Flow:
    """Trace ``model(example)`` (or ``model(*example)`` for a tuple, ``model(**example)`` for a
    dict) and return the data flow between ``modules`` (each entry: the modules of one unit).

    ``params`` (qualified parameter name -> index) makes a parameter a unit of its own: the
    torch function that takes it (``layer_scale * x``) counts as that unit's call.
    With ``meta=True`` the forward runs on meta tensors (every parameter, buffer and input
    replaced by a meta tensor for the call: shapes only, no arithmetic, no copy of the weights).
    Raises whatever the forward raises (the caller tries another way, or pairs without a flow).

    Example:
        >>> seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> flow = trace(seq, [[seq[0]], [seq[2]]], torch.zeros(1, 3))
        >>> flow.preds, flow.order, flow.outputs
        ({0: {-1}, 1: {0}}, [0, 1], {1})
    """
    tracer = _Tracer()
    flow = tracer.flow
    handles = []
    owner: dict[int, int] = {}
    for index, group in enumerate(modules):
        for m in group:
            owner.setdefault(id(m), index)

    def pre(module: nn.Module, args: Any, kwargs: Any) -> None:
        if tracer.depth == 0:
            index = owner[id(module)]
            for src, pos in tracer.source((args, kwargs)):
                flow.preds.setdefault(index, set()).add(src)
                if pos >= 0:
                    flow.positions[(src, index)] = pos
            flow.preds.setdefault(index, set())
            if index not in flow.order:
                flow.order.append(index)
        tracer.depth += 1

    def post(module: nn.Module, args: Any, kwargs: Any, out: Any) -> None:
        tracer.depth -= 1
        if tracer.depth == 0:
            tracer.mark(out, {(owner[id(module)], -1)})

    seen: set[int] = set()
    for group in modules:
        for m in group:
            if id(m) in seen:
                continue
            seen.add(id(m))
            handles.append(m.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(m.register_forward_hook(post, with_kwargs=True))
    modes = [(m, m.training) for m in model.modules()]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = {}
    if isinstance(example, dict):
        args, kwargs = (), dict(example)
    elif isinstance(example, tuple):
        args = example
    else:
        args = (example,)
    state: dict[str, torch.Tensor] = {}
    if meta:
        args = tuple(_to_meta(a) for a in args)
        kwargs = {k: _to_meta(v) for k, v in kwargs.items()}
        state = {n: torch.empty_like(t, device="meta") for n, t in
                 [*model.named_parameters(), *model.named_buffers()]}
    named = dict(model.named_parameters())
    for name, index in (params or {}).items():
        tensor = state.get(name, named.get(name))
        if tensor is not None:
            tracer.bare[id(tensor)] = index
            tracer.keep.append(tensor)
    try:
        model.eval()
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            tracer.mark((args, kwargs), {(INPUT, -1)})
            with tracer:
                if meta:
                    out = functional_call(model, state, args, kwargs, strict=False)
                else:
                    out = model(*args, **kwargs)
            flow.outputs = {i for i, _ in tracer.source(out) if i != INPUT}
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    return flow


#: torch's own layers that take one tensor and return one, with their weights in the module itself
_CHAIN_UNITS = (nn.Linear, nn.modules.conv._ConvNd, nn.modules.batchnorm._NormBase, nn.LayerNorm,
                nn.GroupNorm, nn.RMSNorm, nn.Embedding, nn.PReLU)


def chain_flow(model: nn.Module, modules: Sequence[Sequence[nn.Module]]) -> Flow | None:
    """The flow :func:`trace` would find, read from the module tree alone, or None.

    A tree of plain ``nn.Sequential`` containers (``forward`` not overridden, no hooks) whose
    leaves are torch's own layers (the weight-bearing ones from a fixed list of one-tensor
    layers, any parameterless ``torch.nn`` leaf between them) runs its leaves as a chain, in
    registration order: that order is the flow, with nothing run, imported or allocated.

    Example:
        >>> seq = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2)))
        >>> flow = chain_flow(seq, [[seq[0]], [seq[1][1]]])
        >>> flow.preds, flow.order, flow.outputs
        ({0: {-1}, 1: {0}}, [0, 1], {1})
    """
    if nn.modules.module._global_forward_hooks or nn.modules.module._global_forward_pre_hooks:
        return None
    leaves: list[nn.Module] = []

    def walk(m: nn.Module | None, depth: int) -> bool:
        if m is None or depth > 64 or m._forward_hooks or m._forward_pre_hooks:
            return False
        if isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward:
            return all(walk(c, depth + 1) for c in m._modules.values())
        if m._modules or not type(m).__module__.startswith("torch.nn.modules."):
            return False
        if not isinstance(m, _CHAIN_UNITS) and (any(True for _ in m.parameters())
                                                or getattr(m, "return_indices", False)):
            return False
        leaves.append(m)
        return True

    if not modules or not walk(model, 0):
        return None
    at = {id(m): i for i, m in enumerate(leaves)}
    if len(at) != len(leaves) or any(len(g) != 1 or id(g[0]) not in at for g in modules):
        return None  # a module run twice, or a unit that is no leaf of the chain
    order = sorted(range(len(modules)), key=lambda i: at[id(modules[i][0])])
    flow = Flow(order=order, outputs={order[-1]})
    for k, i in enumerate(order):
        flow.preds[i] = {order[k - 1] if k else INPUT}
    return flow


def _to_meta(obj: object) -> object:
    if isinstance(obj, torch.Tensor):
        return torch.empty_like(obj, device="meta")
    if isinstance(obj, tuple):
        return tuple(_to_meta(v) for v in obj)
    if isinstance(obj, list):
        return [_to_meta(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_meta(v) for k, v in obj.items()}
    return obj


def example_inputs(inputs: Sequence[tuple[tuple[int | None, ...], str]],
                   device: torch.device | None = None) -> list[object]:
    """Candidate torch inputs for Keras input layers ``(batch_shape, dtype)``, most likely first.

    Unknown sizes become 224 for image-like inputs (rank 4 or 5) and 16 otherwise; float inputs
    are tried channels-first (torch convention) and as written, integer inputs are zeros.

    Example:
        >>> [tuple(x.shape) for x in example_inputs([((None, 32, 32, 3), "float32")])]
        [(1, 3, 32, 32), (1, 32, 32, 3)]
    """
    if not inputs:
        return []
    per_input: list[list[torch.Tensor]] = []
    for shape, dtype in inputs:
        rank = len(shape)
        fill = 224 if rank >= 4 else 16
        dims = [1] + [fill if d is None else int(d) for d in shape[1:]]
        if any(d <= 0 for d in dims) or _numel(dims) > 2**26:
            return []
        if "int" in dtype or "bool" in dtype:
            per_input.append([torch.zeros(dims, dtype=torch.long, device=device)])
            continue
        x = torch.randn(dims, generator=torch.Generator().manual_seed(0)).to(device)
        first = x.movedim(-1, 1).contiguous() if rank >= 3 else x
        options = [first, x] if rank >= 4 else [x, first] if rank == 3 else [x]
        per_input.append(options)
    if len(per_input) == 1:
        return list(per_input[0])
    firsts = tuple(opts[0] for opts in per_input)
    return [firsts, per_input[0][0]]


def _numel(dims: Sequence[int]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n
