"""Weight-bearing Keras layers: config + input shape -> the weights, their shapes and initializers.

Which layers exist, their weights, keywords and defaults come from the Keras layer table
(:mod:`kerasinit.mappings.layers`); here one shape rule per ``builder`` family, for Keras 3,
tf_keras / Keras 2 and Keras 1 config keys. Shapes are Keras-layout shapes
(``(*kernel_size, in, out)``, channels-last), ``None`` where the config and the known input
shape do not determine them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from kerasinit.mappings import layers as table
from kerasinit.mappings.errors import shown
from kerasinit.mappings.layers import LayerWeight
from kerasinit.mappings.versions import KerasVersion
from kerasinit.porting import attention
from kerasinit.porting.layerdefs import (
    Dim,
    LayerCtx,
    RefusedConfigError,
    Shape,
    WeightDef,
    weight_def,
)

__all__ = ["FAMILIES", "WEIGHTLESS", "WRAPPERS", "LayerCtx", "WeightDef",
           "gru_default_reset_after", "weights_of"]

def _shape(*dims: Dim) -> Shape | None:
    return None if any(d is None for d in dims) else tuple(int(d) for d in dims)  # type: ignore[arg-type]


def _ints(value: object, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)  # type: ignore[attr-defined]


def _rank(ctx: LayerCtx) -> int:
    """The spatial rank of a conv-like class (``Conv2D`` -> 2, Keras 1 ``Deconvolution2D``)."""
    match = re.search(r"(\d)D", ctx.class_name)
    return int(match.group(1)) if match else 1


def _has(ctx: LayerCtx, w: LayerWeight) -> bool:
    """False when the config switches the weight off (``use_bias=False``, ``scale=False``)."""
    if w.when is None:
        return True
    return bool(ctx.get(*w.when.split("|"), default=True))


def _def(ctx: LayerCtx, role: str, shape: Shape | None, **extra: Any) -> WeightDef:
    return ctx.weight(role, shape, **extra)


def _token(ctx: LayerCtx, token: str) -> list[Dim] | None:
    """The dims a shape token of the layer table stands for (None: not derivable)."""
    if token == "in":
        d = ctx.dim(-1)
        value = d if d is not None else ctx.get("input_dim")
        return [None if value is None else int(value)]
    if token == "axis":
        axes = _axes(ctx)
        return None if axes is None else [ctx.dim(a) for a in axes]
    mult, _, keys = token.rpartition("*")
    if mult and not mult.isdigit():
        return None
    value = ctx.get(*keys.split("|"))
    return [None if value is None else int(mult or 1) * int(value)]


def _axes(ctx: LayerCtx) -> list[int] | None:
    """The input axes of the config's ``axis``, in the order the layer's Keras version builds.

    The layer table's ``axes`` rule: the config's order, Keras's ``sorted()`` of the raw values,
    or (LayerNormalization) the version's rule: tf_keras keeps the order, Keras 3.0-3.15 sort
    the raw values (``[1, -1]`` -> ``[-1, 1]``), Keras 3.16 makes them non-negative and sorts.

    Example:
        >>> from kerasinit.mappings.versions import parse_version
        >>> [_axes(LayerCtx("LayerNormalization", {"axis": [1, -1]}, parse_version(v),
        ...                 (None, 5, 7))) for v in ("3.15", "3.16", "2")]
        [[-1, 1], [1, 2], [1, 2]]
    """
    if ctx.input_shape is None:
        return None
    axis = ctx.get("axis", default=-1)
    axes = [int(axis)] if isinstance(axis, int) else [int(a) for a in axis or []]
    entry = table.LAYERS[ctx.class_name]
    rule = ctx.version.layer_norm_axes if entry.axes == "version" else entry.axes
    if rule == "sorted":
        return sorted(axes)
    if rule == "given" and entry.axes == "given":
        return axes
    rank = len(ctx.input_shape)
    canonical = [a + rank if a < 0 else a for a in axes]
    if len(set(canonical)) != len(canonical):
        raise RefusedConfigError(
            f"axis={shown(axis)} names an input axis twice (input rank {rank}); "
            f"{ctx.version.label()} refuses duplicate {ctx.class_name} axes (Keras 3.0-3.15 "
            f"accepted them: pass keras_version='3.15' if the file came from there).")
    return sorted(canonical) if rule == "canonical" else canonical


def _check_ranges(ctx: LayerCtx) -> None:
    """Config values the version refuses out of range (the layer table's ``ranges``)."""
    entry = table.LAYERS.get(ctx.class_name)
    if entry is None or not ctx.version.validates_ranges:
        return
    for key, (low, high) in entry.ranges.items():
        value = ctx.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                not low <= float(value) <= high:
            raise RefusedConfigError(
                f"{key}={shown(value)} is outside [{low:g}, {high:g}]: {ctx.version.label()} "
                f"refuses it (Keras 3.15 and older accepted any value: pass "
                f"keras_version='3.15' if the file came from there).")


def _generic(ctx: LayerCtx) -> list[WeightDef]:
    """A layer whose weight shapes are the table's shape tokens."""
    entry = table.LAYERS[ctx.class_name]
    rows = []
    for w in entry.weights:
        if not _has(ctx, w):
            continue
        dims: list[Dim] = []
        for token in w.shape:
            got = _token(ctx, token)
            if got is None:
                dims = [None]
                break
            dims += got
        rows.append(weight_def(ctx, w, _shape(*dims)))
    return rows


def _kernel_size(ctx: LayerCtx, rank: int) -> tuple[int, ...]:
    ks = ctx.get("kernel_size")
    if ks is not None:
        return _ints(ks, rank)
    if rank == 1:  # Keras 1
        return (int(ctx.get("filter_length", default=1)),)
    if rank == 2:
        return (int(ctx.get("nb_row", default=1)), int(ctx.get("nb_col", default=1)))
    return tuple(int(ctx.get(f"kernel_dim{i}", default=1)) for i in (1, 2, 3))


def _filters(ctx: LayerCtx) -> Dim:
    value = ctx.get("filters", "nb_filter")
    return None if value is None else int(value)


def _bias(ctx: LayerCtx, n: Dim) -> list[WeightDef]:
    return [_def(ctx, "bias", _shape(n))] if ctx.use_bias else []


def _conv(ctx: LayerCtx, transpose: bool = False) -> list[WeightDef]:
    rank = _rank(ctx)
    k = _kernel_size(ctx, rank)
    filters, cin = _filters(ctx), ctx.in_channels
    groups = int(ctx.get("groups", default=1) or 1)
    if transpose:
        shape = _shape(*k, filters, cin)  # tf_keras ignores `groups` here
    else:
        shape = _shape(*k, None if cin is None else cin // groups, filters)
    fans, note = None, ""
    if ctx.version.major == 1 and shape is not None and not transpose:
        fans, note = _keras1_conv_fans(ctx, rank, shape)
    return [_def(ctx, "kernel", shape, fans=fans, note=note), *_bias(ctx, filters)]


def _conv_transpose(ctx: LayerCtx) -> list[WeightDef]:
    return _conv(ctx, transpose=True)


def _keras1_conv_fans(ctx: LayerCtx, rank: int, shape: Shape) -> tuple[tuple[float, float] | None, str]:
    """Keras 1 fans on its own kernel layouts."""
    *k, cin, cout = shape
    if rank == 1:  # W = (filter_length, 1, input_dim, nb_filter) initialised with 'th' fans
        rf = cin * cout
        return (float(rf), float(k[0] * rf)), "Keras 1 Conv1D fans on its 4-D 'th' kernel"
    if rank == 3 and ctx.channels_first:
        rf = math.prod(k)
        return (float(cin * rf), float(cout * rf)), "Keras 1 'th' Conv3D fans"
    return None, ""


def _depthwise(ctx: LayerCtx) -> list[WeightDef]:
    k = _kernel_size(ctx, _rank(ctx))
    m = int(ctx.get("depth_multiplier", default=1))
    cin = ctx.in_channels
    return [_def(ctx, "depthwise_kernel", _shape(*k, cin, m)),
            *_bias(ctx, None if cin is None else cin * m)]


def _separable(ctx: LayerCtx) -> list[WeightDef]:
    rank = _rank(ctx)
    k = _kernel_size(ctx, rank)
    m = int(ctx.get("depth_multiplier", default=1))
    cin, filters = ctx.in_channels, _filters(ctx)
    mid = None if cin is None else cin * m
    return [_def(ctx, "depthwise_kernel", _shape(*k, cin, m)),
            _def(ctx, "pointwise_kernel", _shape(*(1,) * rank, mid, filters)),
            *_bias(ctx, filters)]


def _rnn(ctx: LayerCtx) -> list[WeightDef]:
    entry = table.LAYERS[ctx.class_name]
    gates = entry.gates
    units = ctx.get("units", "output_dim")
    g_units = None if units is None else gates * int(units)
    feat = ctx.dim(-1) if ctx.dim(-1) is not None else ctx.get("input_dim")
    blocks = table.gate_blocks(ctx.class_name, ctx.version, ctx.get("consume_less", default="cpu"))
    note = f"Keras 1 per-gate weights: {gates} blocks initialized separately" if blocks > 1 else ""
    rows = [_def(ctx, "kernel", _shape(feat, g_units), blocks=blocks, note=note),
            _def(ctx, "recurrent_kernel", _shape(units, g_units), blocks=blocks, note=note)]
    if ctx.version.major == 1 or ctx.use_bias:
        reset_after = bool(ctx.get("reset_after", default=table.gru_reset_after(ctx.version)))
        gru = entry.class_name.startswith("GRU")
        bias_shape = _shape(2, g_units) if gru and reset_after else _shape(g_units)
        bias_note = ""
        if "unit_forget_bias" in entry.options and _forget_bias(ctx):
            bias_note = "unit_forget_bias: the forget-gate block is set to 1"
        rows.append(_def(ctx, "bias", bias_shape, note=bias_note))
    return rows


def gru_default_reset_after(version: KerasVersion) -> bool:
    """Keras's GRU default ``reset_after`` (:func:`kerasinit.mappings.layers.gru_reset_after`).

    Example:
        >>> from kerasinit.mappings.versions import parse_version
        >>> [gru_default_reset_after(parse_version(v)) for v in ("3", "2.2.4-tf", "2.1.6", "2")]
        [True, False, False, True]
    """
    return table.gru_reset_after(version)


def _forget_bias(ctx: LayerCtx) -> bool:
    if ctx.version.major == 1:
        return ctx.get("forget_bias_init", default="one") in ("one", "ones", "Ones")
    return bool(ctx.get("unit_forget_bias", default=True))


def _conv_lstm(ctx: LayerCtx) -> list[WeightDef]:
    k = _kernel_size(ctx, _rank(ctx))
    units = _filters(ctx)
    g = None if units is None else 4 * units
    rows = [_def(ctx, "kernel", _shape(*k, ctx.in_channels, g)),
            _def(ctx, "recurrent_kernel", _shape(*k, units, g))]
    if ctx.use_bias:
        note = "unit_forget_bias: the forget-gate block is set to 1" if _forget_bias(ctx) else ""
        rows.append(_def(ctx, "bias", _shape(g), note=note))
    return rows


def _prelu(ctx: LayerCtx) -> list[WeightDef]:
    shape: Shape | None = None
    if ctx.input_shape is not None:
        dims = list(ctx.input_shape[1:])
        for axis in ctx.get("shared_axes", default=None) or []:
            dims[int(axis) - 1] = 1
        shape = _shape(*dims)
    return [_def(ctx, "alpha", shape)]


def _reversible_embedding(ctx: LayerCtx) -> list[WeightDef]:
    """keras(_hub) ``ReversibleEmbedding``: an Embedding plus, with ``tie_weights=False``, a
    ``reverse_embeddings`` (output_dim, input_dim) from the same initializer."""
    vocab, dim = ctx.get("input_dim"), ctx.get("output_dim")
    rows = [_def(ctx, "embeddings", _shape(vocab, dim))]
    if not ctx.get("tie_weights", default=True):
        rows.append(_def(ctx, "reverse_embeddings", _shape(dim, vocab)))
    return rows


def _stft(ctx: LayerCtx) -> list[WeightDef]:
    """``STFTSpectrogram``: real/imag kernels (frame_length, 1, fft_length // 2 + 1)."""
    frame = int(ctx.get("frame_length", default=256))
    fft = int(ctx.get("fft_length") or 2 ** math.ceil(math.log2(frame)))
    mode = ctx.get("mode", default="log")
    args = {"window": ctx.get("window", default="hann"),
            "scaling": ctx.get("scaling", default="density"),
            "periodic": bool(ctx.get("periodic", default=False))}
    return [WeightDef(f"{side}_kernel", "kernel", "", {"class_name": "STFT", "config": {
                "side": side, **args}}, (frame, 1, fft // 2 + 1))
            for side in ("real", "imag") if mode != ("imag" if side == "real" else "real")]


def _spectral_normalization(ctx: LayerCtx) -> list[WeightDef]:
    """``SpectralNormalization``'s own ``vector_u`` (1, units or filters of the wrapped layer);
    the wrapped layer is planned as a layer of its own."""
    inner = ctx.get("layer")
    cfg = inner.get("config") if isinstance(inner, Mapping) else None
    n = (cfg.get("units", cfg.get("filters", cfg.get("output_dim")))
         if isinstance(cfg, Mapping) else None)
    return [_def(ctx, "vector_u", _shape(1, n), note="power-iteration vector, not trained")]


#: the table's ``builder`` names -> the function deriving that family's weights
BUILDERS: dict[str, Callable[[LayerCtx], list[WeightDef]]] = {
    "generic": _generic,
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "depthwise": _depthwise,
    "separable": _separable,
    "rnn": _rnn,
    "conv_lstm": _conv_lstm,
    "prelu": _prelu,
    "mha": attention.multi_head_attention,
    "einsum": attention.einsum_dense,
    "dot_attention": attention.dot_attention,
    "gqa": attention.grouped_query_attention,
    "reversible_embedding": _reversible_embedding,
    "stft": _stft,
    "spectral_normalization": _spectral_normalization,
}

#: layers with their own weights that wrap a layer planned on its own
WRAPPERS = table.WRAPPERS

#: every Keras class (and alias) of the layer table -> its weights
FAMILIES: dict[str, Callable[[LayerCtx], list[WeightDef]]] = {
    name: BUILDERS[entry.builder] for name, entry in table.LAYERS.items()}

#: layers with no initialized weights (rows of the layer table without weights)
WEIGHTLESS = table.WEIGHTLESS


def weights_of(ctx: LayerCtx) -> list[WeightDef] | None:
    """The weights of a layer, ``[]`` for a known weightless layer, None for an unknown class."""
    if ctx.class_name in FAMILIES:
        _check_ranges(ctx)
        return FAMILIES[ctx.class_name](ctx)
    if ctx.class_name in WEIGHTLESS:
        return []
    return None
