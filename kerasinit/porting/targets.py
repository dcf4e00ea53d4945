"""The ``mapping=`` argument and the torch units it can name.

A mapping entry is ``keras layer (path, short name or nested-model prefix) -> target``:

- ``"block.fc"``: one torch module (``""`` is the root);
- ``"encoder"`` for a nested Keras model (or any Keras prefix): a torch container; the layers
  under the prefix are paired automatically, but only with modules under the container;
- ``("attn.q", "attn.k", "attn.v", "attn.o")``: one Keras ``MultiHeadAttention`` onto four
  Linear modules (query, key, value, output), the layout of Hugging Face attention; a container
  path alone (``"attn"``) finds the four by their names (``q``/``query``/``q_proj``, ...);
- ``("dw", "pw")``: one Keras ``SeparableConv`` onto any depthwise and pointwise conv modules.

Every target is used once: two Keras entries that name the same torch module are an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from torch import nn

from kerasinit.bridge.layouts import KerasLayout, Layout, TorchLayout
from kerasinit.mappings.errors import KerasInitError
from kerasinit.modules.params import ParamSpec
from kerasinit.porting.matching import Unit, _separable

__all__ = ["MHA_ROLES", "bare_unit", "find_mha_children", "hf_conv1d_unit", "mha_group",
           "parse_mapping", "separable_group"]

#: names a query / key / value / output projection goes by, first match wins
MHA_ROLES: dict[str, tuple[str, ...]] = {
    "q": ("q", "query", "q_proj", "q_lin", "to_q", "wq"),
    "k": ("k", "key", "k_proj", "k_lin", "to_k", "wk"),
    "v": ("v", "value", "v_proj", "v_lin", "to_v", "wv"),
    "o": ("o", "out", "out_proj", "o_proj", "out_lin", "output", "dense", "to_out", "wo", "proj"),
}


def parse_mapping(mapping: object) -> list[tuple[str, tuple[str, ...]]]:
    """Validate ``mapping`` and return ``[(keras key, torch targets), ...]``.

    Raises:
        KerasInitError: a mapping that is not a dict, a key that is not a string, a value that
            is not a module path or a tuple of them, or a torch module named twice.

    Example:
        >>> parse_mapping({"mha": ("a.q", "a.k", "a.v", "a.o"), "fc": "head"})
        [('mha', ('a.q', 'a.k', 'a.v', 'a.o')), ('fc', ('head',))]
    """
    if mapping is None:
        return []
    if not isinstance(mapping, Mapping):
        raise KerasInitError(
            f"mapping must be a dict {{keras layer: torch module path}} (a tuple of paths for a "
            f"MultiHeadAttention or SeparableConv split over modules). Received "
            f"{type(mapping).__name__}: {str(mapping)[:80]!r}.")
    out: list[tuple[str, tuple[str, ...]]] = []
    seen: dict[str, str] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise KerasInitError(f"mapping keys are Keras layer names or paths (str). Received "
                                 f"{key!r} ({type(key).__name__}).")
        if isinstance(value, str):
            targets: tuple[str, ...] = (value,)
        elif isinstance(value, (tuple, list)) and value and all(isinstance(v, str) for v in value):
            targets = tuple(value)
        else:
            raise KerasInitError(
                f"mapping[{key!r}] = {value!r} ({type(value).__name__}) is not a torch module "
                f"path. Valid: a module path such as 'features.0' ('' for the root), a container "
                f"path for a nested Keras model, or a tuple of paths: (q, k, v, o) for a "
                f"MultiHeadAttention, (depthwise, pointwise) for a SeparableConv.")
        if len(targets) not in (1, 2, 4):
            raise KerasInitError(
                f"mapping[{key!r}] names {len(targets)} torch modules; a tuple has 4 (q, k, v, o "
                f"of a MultiHeadAttention) or 2 (depthwise, pointwise of a SeparableConv).")
        for t in targets:
            if t in seen:
                raise KerasInitError(
                    f"mapping targets torch module {t!r} twice (for {seen[t]!r} and {key!r}); "
                    f"one torch module takes one Keras layer.")
            seen[t] = key
        out.append((key, targets))
    return out


def _param(name: str, role: str, keyword: str, layout: Layout, layer: str) -> ParamSpec:
    return ParamSpec(name, role, keyword, layout, layer)


def _module(model: nn.Module, path: str) -> nn.Module | None:
    try:
        return model.get_submodule(path)
    except AttributeError:
        return None


def _linear_layout(m: nn.Module) -> KerasLayout | TorchLayout | None:
    if isinstance(m, nn.Linear):
        return TorchLayout()
    weight = getattr(m, "weight", None)
    if type(m).__name__ == "Conv1D" and not isinstance(m, nn.Conv1d) and \
            getattr(weight, "ndim", 0) == 2:
        return KerasLayout()  # Hugging Face GPT-2 style: weight stored (in, out)
    return None


def bare_unit(path: str, module: nn.Module, name: str) -> Unit:
    """A parameter a container holds itself (torchvision ``CNBlock.layer_scale``, shape
    ``(C, 1, 1)``) as the unit of a Keras ``LayerScale`` (weight ``(C,)``).

    Example:
        >>> import torch
        >>> block = nn.Module()
        >>> block.layer_scale = nn.Parameter(torch.ones(4, 1, 1))
        >>> u = bare_unit("blocks.0", block, "layer_scale")
        >>> u.path, u.qual("layer_scale"), u.kind
        ('blocks.0:layer_scale', 'blocks.0.layer_scale', 'LayerScale')
    """
    full = f"{path}.{name}" if path else name
    spec = _param(name, "scale", "", KerasLayout(), "LayerScale")
    return Unit(f"{path}:{name}", module, (spec,), "LayerScale", direct=True,
                names={name: full})


def hf_conv1d_unit(path: str, m: nn.Module) -> Unit | None:
    """A Hugging Face ``Conv1D`` (``y = x @ W + b``, weight ``(in, out)``) as a Keras Dense.

    Example:
        >>> hf_conv1d_unit("fc", nn.Linear(2, 3)) is None
        True
    """
    layout = _linear_layout(m)
    if not isinstance(layout, KerasLayout):
        return None
    params = [_param("weight", "kernel", "kernel_initializer", layout, "Dense")]
    if getattr(m, "bias", None) is not None:
        params.append(_param("bias", "bias", "bias_initializer", TorchLayout(), "Dense"))
    return Unit(path, m, tuple(params), "Dense", direct=True)


def mha_group(model: nn.Module, paths: tuple[str, ...]) -> Unit | str:
    """The unit of one Keras MultiHeadAttention over four Linear-like modules, or why not."""
    holder = nn.Module()
    params = []
    names = {}
    for role, path in zip("qkvo", paths, strict=True):
        m = _module(model, path)
        layout = None if m is None else _linear_layout(m)
        if m is None or layout is None:
            kind = "no such module" if m is None else type(m).__name__
            return f"{path!r} ({kind}) is not a Linear for the {role} projection"
        holder.add_module(role, m)
        params.append(_param(f"{role}.weight", "kernel", "kernel_initializer", layout,
                             "MultiHeadAttention"))
        names[f"{role}.weight"] = f"{path}.weight" if path else "weight"
        if getattr(m, "bias", None) is not None:
            params.append(_param(f"{role}.bias", "bias", "bias_initializer", TorchLayout(),
                                 "MultiHeadAttention"))
            names[f"{role}.bias"] = f"{path}.bias" if path else "bias"
    return Unit("+".join(paths), holder, tuple(params), "MultiHeadAttention", direct=True,
                names=names)


def find_mha_children(model: nn.Module, path: str) -> tuple[str, ...] | None:
    """The (q, k, v, o) Linear paths under container ``path``, found by their names."""
    container = _module(model, path)
    if container is None:
        return None
    found: dict[str, str] = {}
    linears = [(n, m) for n, m in container.named_modules() if n and _linear_layout(m)]
    for role, names in MHA_ROLES.items():
        for wanted in names:
            hits = [n for n, _ in linears if n.rsplit(".", 1)[-1] == wanted and n not in
                    found.values()]
            if len(hits) == 1:
                found[role] = f"{path}.{hits[0]}" if path else hits[0]
                break
    if len(found) != 4:
        return None
    return tuple(found[r] for r in "qkvo")


def separable_group(model: nn.Module, paths: tuple[str, ...]) -> Unit | str:
    """The unit of one Keras SeparableConv over a depthwise and a pointwise conv module."""
    dw, pw = (_module(model, p) for p in paths)
    holder = nn.Module()
    if dw is None or pw is None:
        return f"no torch module {paths[0] if dw is None else paths[1]!r}"
    holder.depthwise = dw
    holder.pointwise = pw
    unit = _separable(holder)
    if unit is None:
        return f"{paths} are not two conv modules"
    names = {p.name: f"{paths[0] if p.name.startswith('depthwise') else paths[1]}."
             f"{p.name.split('.', 1)[1]}" for p in unit.params}
    return dataclasses.replace(unit, path="+".join(paths), names=names)
