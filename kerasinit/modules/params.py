"""The Keras view of a torch module's weights: which Keras layer, weight role, keyword and layout.

:func:`module_params` answers, for one torch module, "which Keras weight is each of my
parameters, which Keras initializer keyword controls it, and how do my axes map to Keras's"
(the Keras layers, keywords and defaults come from :mod:`kerasinit.mappings.layers`):

======================================  ===================  =============================
torch module                            Keras layer          layouts
======================================  ===================  =============================
``Linear``                              Dense                ``"torch"``
``Conv{1,2,3}d`` (any ``groups``)        Conv{1,2,3}D         ``"torch"`` (``(*k, in/g, out)``)
``Conv{1,2}d``, groups = in > 1,        DepthwiseConv{1,2}D  ``Depthwise(out // in)``
out % in == 0
``ConvTranspose{1,2,3}d``               Conv{1,2,3}DTranspose ``"torch"``: ``(in, out/g, *k)``
                                                             -> ``(*k, out/g, in)``, Keras's
                                                             ``(*k, out, in)`` (no flip)
``Embedding`` / ``EmbeddingBag``        Embedding            ``"embedding"``
``RNN`` / ``LSTM``                      SimpleRNN / LSTM     ``"torch"`` per layer, direction
``RNNCell``/``LSTMCell``/``GRUCell``    SimpleRNNCell, ...   as the layers (one layer)
``GRU``                                 GRU                  ``"gru"`` (gates r,z,n <-> z,r,h)
``MultiheadAttention``                  MultiHeadAttention   ``mha_in_proj(h)`` or
                                                             ``MHAProjection(h)``; out_proj
                                                             ``MHAOutput(h)``; biases (h, d)
``BatchNorm*``, ``LayerNorm``,          BatchNormalization,  ``"keras"`` (identity)
``GroupNorm``, ``PReLU``                ...
======================================  ===================  =============================

A module owns only its own parameters, except ``MultiheadAttention`` (claims ``out_proj``) and
modules that define ``_kerasinit_params()`` (e.g. ``kerasinit.nn.SeparableConv2d`` claims its
``depthwise`` and ``pointwise`` convs); claimed names contain a dot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from kerasinit.bridge.layouts import (
    GRU,
    Depthwise,
    Embedding,
    KerasLayout,
    Layout,
    MHAOutput,
    MHAProjection,
    Packed,
    TorchLayout,
    mha_in_proj,
)
from kerasinit.mappings import layers as table
from kerasinit.mappings.errors import LayoutError, format_choices, shown, suggest
from kerasinit.mappings.shapecheck import check_shape
from kerasinit.mappings.versions import VersionLike, parse_version

__all__ = [
    "KEYWORDS",
    "MHABias",
    "ModuleView",
    "ParamSpec",
    "find_tensor",
    "keras_defaults",
    "layout_label",
    "module_params",
    "module_view",
    "param_spec",
    "separable_specs",
    "skipped_params",
]

#: Every Keras initializer keyword of a layer with a torch counterpart -> the weight role it sets.
KEYWORDS: dict[str, str] = table.keyword_roles()

_TORCH = TorchLayout()
_KERAS = KerasLayout()
_EMBEDDING = Embedding()
_GRU = GRU()
_UNINIT = getattr(nn.parameter, "UninitializedTensorMixin", ())
_RNN_NAME = re.compile(r"^(weight|bias)_(ih|hh|hr)(_l\d+(_reverse)?)?$")


@dataclass(frozen=True)
class ParamSpec:
    """The Keras view of one torch parameter or buffer.

    Attributes:
        name: attribute path on the module (``"weight"``, ``"weight_hh_l0_reverse"``,
            ``"in_proj_weight"``, ``"running_mean"``, ``"out_proj.weight"`` for a claimed child).
        role: Keras weight role: ``"kernel"``, ``"bias"``, ``"recurrent_kernel"``,
            ``"recurrent_bias"`` (torch ``bias_hh``), ``"embeddings"``, ``"depthwise_kernel"``,
            ``"pointwise_kernel"``, ``"gamma"``, ``"beta"``, ``"moving_mean"``,
            ``"moving_variance"``, ``"alpha"``.
        keyword: the Keras initializer keyword that controls it (``"kernel_initializer"``).
        layout: how the torch axes map to the Keras weight (see :mod:`kerasinit.bridge.layouts`).
        keras_layer: Keras class name (``"Dense"``, ``"DepthwiseConv2D"``, ``"LSTM"``).
        is_buffer: True for buffers (BatchNorm moving statistics).
    """

    name: str
    role: str
    keyword: str
    layout: Layout
    keras_layer: str
    is_buffer: bool = False


@dataclass(frozen=True, slots=True)
class MHABias(Layout):
    """A q/k/v projection bias ``(h*d,)`` <-> Keras EinsumDense bias ``(h, d)`` (fans (h, d))."""

    num_heads: int = 1
    name: str = "mha_bias"

    def __post_init__(self) -> None:
        Layout.__post_init__(self)          # the name is fixed
        h = self.num_heads
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise LayoutError(f"MHABias: num_heads must be an int >= 1. Received: {shown(h)}.")

    def keras_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        h = self.num_heads
        check_shape(shape, f"An MHA projection bias must be 1-D (num_heads*head_dim,) with a "
                    f"length divisible by num_heads={h}.", rank=1, divisible=(0, h))
        return (h, shape[0] // h)

    def to_keras(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(self.num_heads, -1)

    def to_torch(self, k: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return k.reshape(shape)


def layout_label(layout: Layout) -> str:
    """A short readable name: ``'torch'``, ``'Depthwise(4)'``, ``'mha_in_proj(8)'``."""
    if isinstance(layout, Depthwise):
        return f"Depthwise({layout.depth_multiplier})"
    if isinstance(layout, (MHAProjection, MHAOutput, MHABias)):
        return f"{type(layout).__name__}({layout.num_heads})"
    if isinstance(layout, Packed):
        inner = layout.parts[0] if layout.parts else None
        heads = getattr(inner, "num_heads", None)
        return f"{layout.name}({heads})" if heads is not None else layout.name
    return layout.name


#: torch-only roles -> the Keras weight whose initializer keyword they follow
_ROLE_WEIGHT = {"recurrent_bias": "bias", "depthwise_bias": "bias"}


def param_spec(name: str, role: str, layout: Layout, keras_layer: str,
               buffer: bool = False) -> ParamSpec:
    """The :class:`ParamSpec` of torch tensor ``name`` playing ``role`` of ``keras_layer``.

    The initializer keyword comes from the Keras layer table
    (:mod:`kerasinit.mappings.layers`).

    Example:
        >>> from kerasinit.modules.params import param_spec
        >>> param_spec("bias_hh_l0", "recurrent_bias", TorchLayout(), "LSTM").keyword
        'bias_initializer'
    """
    keyword = table.weight(keras_layer, _ROLE_WEIGHT.get(role, role)).keyword
    assert keyword is not None, (keras_layer, role)  # torch modules only play keyword weights
    return ParamSpec(name, role, keyword, layout, keras_layer, buffer)


_p = param_spec


def separable_specs(n: int, depth_multiplier: int, pointwise_bias: bool,
                    depthwise_bias: bool = False) -> tuple[ParamSpec, ...]:
    """A SeparableConv{n}D held as ``depthwise`` and ``pointwise`` child convs."""
    layer = f"SeparableConv{n}D"
    out = [param_spec("depthwise.weight", "depthwise_kernel", Depthwise(depth_multiplier), layer),
           param_spec("pointwise.weight", "pointwise_kernel", _TORCH, layer)]
    if pointwise_bias:
        out.append(param_spec("pointwise.bias", "bias", _TORCH, layer))
    if depthwise_bias:
        out.append(param_spec("depthwise.bias", "depthwise_bias", _TORCH, layer))
    return tuple(out)


def find_tensor(module: object, name: str) -> torch.Tensor | None:
    """The tensor at a dotted attribute path (``"out_proj.weight"``), or None if there is none.

    Example:
        >>> find_tensor(nn.MultiheadAttention(4, 2), "out_proj.bias").shape
        torch.Size([4])
        >>> find_tensor(nn.Linear(2, 2, bias=False), "bias") is None
        True
    """
    obj: object = module
    for part in name.split("."):
        parametrized = getattr(obj, "parametrizations", None)
        if isinstance(parametrized, nn.ModuleDict) and part in parametrized:
            # the stored tensor, not the computed value: computing it may update buffers
            # (spectral_norm's power iteration); weight_norm keeps original0/original1
            plist = parametrized[part]
            obj = plist.original if hasattr(plist, "original") else plist.original0
            continue
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, torch.Tensor) else None


def _present(module: nn.Module, name: str) -> bool:
    tensor = find_tensor(module, name)
    return tensor is not None and not isinstance(tensor, _UNINIT)


def _dense_like(layer: str, kernel_layout: Layout = _TORCH, kernel_role: str = "kernel",
                prefix: str = "") -> list[ParamSpec]:
    return [_p(prefix + "weight", kernel_role, kernel_layout, layer),
            _p(prefix + "bias", "bias", _TORCH, layer)]


def _conv(module: nn.Module) -> list[ParamSpec]:
    n = len(getattr(module, "kernel_size", ()))
    cin, cout = int(getattr(module, "in_channels", 0)), int(getattr(module, "out_channels", 0))
    groups = int(getattr(module, "groups", 1))
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        return _dense_like(f"Conv{n}DTranspose")
    if n <= 2 and groups > 1 and groups == cin and cout % cin == 0:
        return _dense_like(f"DepthwiseConv{n}D", Depthwise(cout // cin), "depthwise_kernel")
    return _dense_like(f"Conv{n}D")


def _rnn(module: nn.Module) -> list[ParamSpec]:
    if isinstance(module, nn.RNNCellBase):  # LSTMCell/GRUCell/RNNCell: Keras *Cell layers
        layer = "SimpleRNNCell"
        if isinstance(module, nn.LSTMCell):
            layer = "LSTMCell"
        elif isinstance(module, nn.GRUCell):
            layer = "GRUCell"
    else:
        mode = str(getattr(module, "mode", ""))
        layer = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "SimpleRNN")
    weight_layout: Layout = _GRU if layer.startswith("GRU") else _TORCH
    roles = {("weight", "ih"): "kernel", ("weight", "hh"): "recurrent_kernel",
             ("bias", "ih"): "bias", ("bias", "hh"): "recurrent_bias"}
    out = []
    for name, _ in module.named_parameters(recurse=False):
        match = _RNN_NAME.match(name)
        if match is None or (match.group(1), match.group(2)) not in roles:
            continue  # weight_hr (LSTM proj_size): no Keras counterpart -> skipped_params
        out.append(_p(name, roles[(match.group(1), match.group(2))], weight_layout, layer))
    return out


def _mha(module: nn.MultiheadAttention) -> list[ParamSpec]:
    h, layer = module.num_heads, "MultiHeadAttention"
    out = [_p("in_proj_weight", "kernel", mha_in_proj(h), layer)]
    out += [_p(f"{c}_proj_weight", "kernel", MHAProjection(h), layer) for c in "qkv"]
    out.append(_p("in_proj_bias", "bias", Packed((MHABias(h),) * 3, name="mha_in_bias"), layer))
    out += _dense_like(layer, MHAOutput(h), prefix="out_proj.")
    return out


def _norm(layer: str, buffers: bool = False) -> list[ParamSpec]:
    out = [_p("weight", "gamma", _KERAS, layer), _p("bias", "beta", _KERAS, layer)]
    if buffers:
        out += [_p("running_mean", "moving_mean", _KERAS, layer, True),
                _p("running_var", "moving_variance", _KERAS, layer, True)]
    return out


def _candidates(module: nn.Module) -> list[ParamSpec]:
    hook = getattr(module, "_kerasinit_params", None)
    if callable(hook):
        return list(hook())
    if isinstance(module, nn.MultiheadAttention):
        return _mha(module)
    if isinstance(module, nn.Linear):
        return _dense_like("Dense")
    if isinstance(module, nn.modules.conv._ConvNd):
        return _conv(module)
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return [_p("weight", "embeddings", _EMBEDDING, "Embedding")]
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return _rnn(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return _norm("BatchNormalization", buffers=True)
    if isinstance(module, nn.LayerNorm):
        return _norm("LayerNormalization")
    if isinstance(module, nn.GroupNorm):
        return _norm("GroupNormalization")
    if isinstance(module, nn.PReLU):
        return [_p("weight", "alpha", _KERAS, "PReLU")]
    return []


@dataclass(frozen=True)
class ModuleView:
    """Everything kerasinit reads from one torch module, computed once.

    Attributes:
        specs: the Keras view of the module's own weights that exist (see :func:`module_params`).
        claimed: child modules whose weights ``specs`` describe (MHA's ``out_proj``).
        skipped: ``(name, reason)`` for each own parameter with no Keras view.
    """

    specs: tuple[ParamSpec, ...]
    claimed: frozenset[str]
    skipped: tuple[tuple[str, str], ...]


_EMPTY = ModuleView((), frozenset(), ())


def module_view(module: nn.Module) -> ModuleView:
    """The :class:`ModuleView` of ``module`` (one pass over its candidates)."""
    if not module._parameters and not module._buffers and not hasattr(
            module, "_kerasinit_params"):
        return _EMPTY  # containers, dropout, activations: nothing of their own
    candidates = _candidates(module)
    specs = tuple(p for p in candidates if _present(module, p.name))
    known = {p.name for p in specs}
    kind = type(module).__name__
    skipped = []
    for name, param in module._parameters.items():  # named_parameters(recurse=False)
        if param is None or name in known:
            continue
        if isinstance(param, _UNINIT):
            reason = "lazy parameter not materialized yet (run a forward pass first)"
        elif candidates:
            reason = f"{kind}.{name} has no Keras counterpart"
        else:
            reason = f"{kind} has no Keras counterpart"
        skipped.append((name, reason))
    claimed = frozenset(p.name.split(".")[0] for p in candidates if "." in p.name)
    return ModuleView(specs, claimed, tuple(skipped))


def module_params(module: nn.Module) -> tuple[ParamSpec, ...]:
    """The Keras view of ``module``'s own weights (empty for modules kerasinit does not know).

    Only tensors that exist are listed (``bias=False``, ``affine=False``,
    ``track_running_stats=False`` and lazy, uninitialized parameters drop out).

    Example:
        >>> import torch
        >>> from kerasinit.modules.params import module_params
        >>> [(p.name, p.role, p.keyword, p.keras_layer) for p in module_params(torch.nn.Linear(3, 2))]
        [('weight', 'kernel', 'kernel_initializer', 'Dense'), ('bias', 'bias', 'bias_initializer', 'Dense')]
        >>> module_params(torch.nn.Conv2d(8, 16, 3, groups=8))[0].layout
        Depthwise(depth_multiplier=2, name='depthwise')
    """
    if not isinstance(module, nn.Module):
        raise LayoutError(f"module_params needs a torch.nn.Module. Received {shown(module, 60)} "
                          f"(type {type(module).__name__}).")
    return tuple(p for p in _candidates(module) if _present(module, p.name))


def claimed_children(module: nn.Module) -> frozenset[str]:
    """Names of child modules whose weights ``module`` describes (MHA's ``out_proj``)."""
    return frozenset(p.name.split(".")[0] for p in _candidates(module) if "." in p.name)


def skipped_params(module: nn.Module) -> tuple[tuple[str, str], ...]:
    """``(name, reason)`` for each own parameter of ``module`` that has no Keras view.

    Example:
        >>> import torch
        >>> from kerasinit.modules.params import skipped_params
        >>> skipped_params(torch.nn.Bilinear(2, 3, 4))
        (('weight', 'Bilinear has no Keras counterpart'), ('bias', 'Bilinear has no Keras counterpart'))
    """
    return module_view(module).skipped


def keras_defaults(keras_layer: str, keras_version: VersionLike = None) -> dict[str, object]:
    """The Keras default of each initializer keyword a Keras layer takes (from the layer table).

    Example:
        >>> from kerasinit.modules.params import keras_defaults
        >>> keras_defaults("LSTM")
        {'kernel_initializer': 'glorot_uniform', 'recurrent_initializer': 'orthogonal', 'bias_initializer': 'zeros', 'unit_forget_bias': True}
    """
    parse_version(keras_version)
    if not isinstance(keras_layer, str) or keras_layer not in table.LAYERS:
        hint = suggest(keras_layer, list(table.LAYERS)) if isinstance(keras_layer, str) else None
        raise LayoutError(
            f"Unknown Keras layer {shown(keras_layer)}."
            + (f" Did you mean {hint!r}?" if hint else "")
            + f" Keras layers with initializers: {format_choices(table.LAYERS)}.")
    return table.defaults(keras_layer)
