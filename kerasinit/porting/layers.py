"""Weight-bearing Keras layers: config + input shape -> the weights, their shapes and initializers.

One function per layer family (layer-map.md §2), for Keras 3, tf_keras / Keras 2 and Keras 1
config keys. Shapes are Keras-layout shapes (``(*kernel_size, in, out)``, channels-last),
``None`` where the config and the known input shape do not determine them. Defaults follow
layer-map.md when a config omits an initializer key.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from kerasinit.mappings.versions import KerasVersion
from kerasinit.porting import attention
from kerasinit.porting.layerdefs import Dim, LayerCtx, Shape, WeightDef

__all__ = ["FAMILIES", "WEIGHTLESS", "LayerCtx", "WeightDef", "gru_default_reset_after",
           "weights_of"]

_UNIFORM_005 = {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05}}


def _shape(*dims: Dim) -> Shape | None:
    return None if any(d is None for d in dims) else tuple(int(d) for d in dims)  # type: ignore[arg-type]


def _ints(value: object, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)  # type: ignore[attr-defined]


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


def _bias(ctx: LayerCtx, n: Dim, default: object = "zeros") -> list[WeightDef]:
    if not ctx.use_bias:
        return []
    ident = ctx.init(default, "bias_initializer")
    return [WeightDef("bias", "bias", "bias_initializer", ident, _shape(n))]


def _kernel_init(ctx: LayerCtx) -> object:
    return ctx.init("glorot_uniform", "kernel_initializer", "init")


def _dense(ctx: LayerCtx) -> list[WeightDef]:
    units = ctx.get("units", "output_dim")
    return [WeightDef("kernel", "kernel", "kernel_initializer", _kernel_init(ctx),
                      _shape(ctx.dim(-1) if ctx.dim(-1) is not None else ctx.get("input_dim"),
                             units)),
            *_bias(ctx, units)]


def _conv(rank: int, transpose: bool = False) -> Callable[[LayerCtx], list[WeightDef]]:
    def build(ctx: LayerCtx) -> list[WeightDef]:
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
        return [WeightDef("kernel", "kernel", "kernel_initializer", _kernel_init(ctx), shape,
                          fans=fans, note=note), *_bias(ctx, filters)]
    return build


def _keras1_conv_fans(ctx: LayerCtx, rank: int, shape: Shape) -> tuple[tuple[float, float] | None, str]:
    """Keras 1 fans on its own kernel layouts (keras-initializers.md §3.4)."""
    *k, cin, cout = shape
    if rank == 1:  # W = (filter_length, 1, input_dim, nb_filter) initialised with 'th' fans
        rf = cin * cout
        return (float(rf), float(k[0] * rf)), "Keras 1 Conv1D fans on its 4-D 'th' kernel"
    if rank == 3 and ctx.channels_first:
        rf = math.prod(k)
        return (float(cin * rf), float(cout * rf)), "Keras 1 'th' Conv3D fans"
    return None, ""


def _depthwise(rank: int) -> Callable[[LayerCtx], list[WeightDef]]:
    def build(ctx: LayerCtx) -> list[WeightDef]:
        k = _kernel_size(ctx, rank)
        m = int(ctx.get("depth_multiplier", default=1))
        cin = ctx.in_channels
        name = "kernel" if ctx.version.major >= 3 else "depthwise_kernel"
        return [WeightDef(name, "depthwise_kernel", "depthwise_initializer",
                          ctx.init("glorot_uniform", "depthwise_initializer", "init"),
                          _shape(*k, cin, m)),
                *_bias(ctx, None if cin is None else cin * m)]
    return build


def _separable(rank: int) -> Callable[[LayerCtx], list[WeightDef]]:
    def build(ctx: LayerCtx) -> list[WeightDef]:
        k = _kernel_size(ctx, rank)
        m = int(ctx.get("depth_multiplier", default=1))
        cin, filters = ctx.in_channels, _filters(ctx)
        mid = None if cin is None else cin * m
        return [WeightDef("depthwise_kernel", "depthwise_kernel", "depthwise_initializer",
                          ctx.init("glorot_uniform", "depthwise_initializer", "init"),
                          _shape(*k, cin, m)),
                WeightDef("pointwise_kernel", "pointwise_kernel", "pointwise_initializer",
                          ctx.init("glorot_uniform", "pointwise_initializer", "init"),
                          _shape(*(1,) * rank, mid, filters)),
                *_bias(ctx, filters)]
    return build


def _embedding(ctx: LayerCtx) -> list[WeightDef]:
    return [WeightDef("embeddings", "embeddings", "embeddings_initializer",
                      ctx.init(_UNIFORM_005, "embeddings_initializer", "init"),
                      _shape(ctx.get("input_dim"), ctx.get("output_dim")))]


_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3, "ConvLSTM1D": 4, "ConvLSTM2D": 4, "ConvLSTM3D": 4}


def _rnn(ctx: LayerCtx) -> list[WeightDef]:
    kind = ctx.class_name.removesuffix("Cell").removeprefix("CuDNN")
    gates = _GATES[kind]
    units = ctx.get("units", "output_dim")
    g_units = None if units is None else gates * int(units)
    feat = ctx.dim(-1) if ctx.dim(-1) is not None else ctx.get("input_dim")
    blocks = 1
    note = ""
    if ctx.version.major == 1 and gates > 1 and ctx.get("consume_less", default="cpu") != "gpu":
        blocks = gates
        note = f"Keras 1 per-gate weights: {gates} blocks initialized separately"
    rows = [WeightDef("kernel", "kernel", "kernel_initializer", _kernel_init(ctx),
                      _shape(feat, g_units), blocks=blocks, note=note),
            WeightDef("recurrent_kernel", "recurrent_kernel", "recurrent_initializer",
                      ctx.init("orthogonal", "recurrent_initializer", "inner_init"),
                      _shape(units, g_units), blocks=blocks, note=note)]
    if ctx.version.major == 1 or ctx.use_bias:
        reset_after = bool(ctx.get("reset_after", default=gru_default_reset_after(ctx.version)))
        bias_shape = _shape(2, g_units) if kind == "GRU" and reset_after else _shape(g_units)
        bias_note = ""
        if kind == "LSTM" and _forget_bias(ctx):
            bias_note = "unit_forget_bias: the forget-gate block is set to 1"
        rows.append(WeightDef("bias", "bias", "bias_initializer",
                              ctx.init("zeros", "bias_initializer"), bias_shape,
                              note=bias_note))
    return rows


def gru_default_reset_after(version: KerasVersion) -> bool:
    """Keras's GRU default ``reset_after``: True in Keras 3 and tf.keras >= 2.3, else False.

    Example:
        >>> from kerasinit.mappings.versions import parse_version
        >>> [gru_default_reset_after(parse_version(v)) for v in ("3", "2.2.4-tf", "2.1.6", "2")]
        [True, False, False, True]
    """
    return version.major == 3 or (version.major == 2 and version.tf and version.at_least(2, 3))


def _forget_bias(ctx: LayerCtx) -> bool:
    if ctx.version.major == 1:
        return ctx.get("forget_bias_init", default="one") in ("one", "ones", "Ones")
    return bool(ctx.get("unit_forget_bias", default=True))


def _conv_lstm(rank: int) -> Callable[[LayerCtx], list[WeightDef]]:
    def build(ctx: LayerCtx) -> list[WeightDef]:
        k = _kernel_size(ctx, rank)
        units = _filters(ctx)
        g = None if units is None else 4 * units
        rows = [WeightDef("kernel", "kernel", "kernel_initializer", _kernel_init(ctx),
                          _shape(*k, ctx.in_channels, g)),
                WeightDef("recurrent_kernel", "recurrent_kernel", "recurrent_initializer",
                          ctx.init("orthogonal", "recurrent_initializer"), _shape(*k, units, g))]
        if ctx.use_bias:
            note = "unit_forget_bias: the forget-gate block is set to 1" if _forget_bias(ctx) else ""
            rows.append(WeightDef("bias", "bias", "bias_initializer",
                                  ctx.init("zeros", "bias_initializer"), _shape(g), note=note))
        return rows
    return build


def _axes_dims(ctx: LayerCtx, default_axis: int = -1) -> tuple[Dim, ...] | None:
    axis = ctx.get("axis", default=default_axis)
    axes = [axis] if isinstance(axis, int) else list(axis or [])
    if ctx.input_shape is None:
        return None
    return tuple(ctx.dim(int(a)) for a in axes)


def _batch_norm(ctx: LayerCtx) -> list[WeightDef]:
    dims = _axes_dims(ctx)
    shape = None if dims is None else _shape(*dims)
    rows = []
    if ctx.get("scale", default=True):
        rows.append(WeightDef("gamma", "gamma", "gamma_initializer",
                              ctx.init("ones", "gamma_initializer", "gamma_init"), shape))
    if ctx.get("center", default=True):
        rows.append(WeightDef("beta", "beta", "beta_initializer",
                              ctx.init("zeros", "beta_initializer", "beta_init"), shape))
    if ctx.class_name == "BatchNormalization":
        rows.append(WeightDef("moving_mean", "moving_mean", "moving_mean_initializer",
                              ctx.init("zeros", "moving_mean_initializer"), shape))
        rows.append(WeightDef("moving_variance", "moving_variance", "moving_variance_initializer",
                              ctx.init("ones", "moving_variance_initializer"), shape))
    return rows


def _group_norm(ctx: LayerCtx) -> list[WeightDef]:
    shape = _shape(ctx.dim(int(ctx.get("axis", default=-1))))
    rows = []
    if ctx.get("scale", default=True):
        rows.append(WeightDef("gamma", "gamma", "gamma_initializer",
                              ctx.init("ones", "gamma_initializer"), shape))
    if ctx.get("center", default=True):
        rows.append(WeightDef("beta", "beta", "beta_initializer",
                              ctx.init("zeros", "beta_initializer"), shape))
    return rows


def _prelu(ctx: LayerCtx) -> list[WeightDef]:
    shape: Shape | None = None
    if ctx.input_shape is not None:
        dims = list(ctx.input_shape[1:])
        for axis in ctx.get("shared_axes", default=None) or []:
            dims[int(axis) - 1] = 1
        shape = _shape(*dims)
    return [WeightDef("alpha", "alpha", "alpha_initializer",
                      ctx.init("zeros", "alpha_initializer", "init"), shape)]


FAMILIES: dict[str, Callable[[LayerCtx], list[WeightDef]]] = {
    "Dense": _dense,
    "EinsumDense": attention.einsum_dense,
    **{f"Conv{n}D": _conv(n) for n in (1, 2, 3)},
    **{f"Convolution{n}D": _conv(n) for n in (1, 2, 3)},
    **{f"AtrousConvolution{n}D": _conv(n) for n in (1, 2)},
    **{f"Conv{n}DTranspose": _conv(n, transpose=True) for n in (1, 2, 3)},
    "Deconvolution2D": _conv(2, transpose=True),
    **{f"DepthwiseConv{n}D": _depthwise(n) for n in (1, 2)},
    **{f"SeparableConv{n}D": _separable(n) for n in (1, 2)},
    "SeparableConvolution2D": _separable(2),
    "Embedding": _embedding,
    **{name: _rnn for name in ("SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell",
                               "GRUCell", "CuDNNLSTM", "CuDNNGRU")},
    **{f"ConvLSTM{n}D": _conv_lstm(n) for n in (1, 2, 3)},
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _batch_norm,
    "GroupNormalization": _group_norm,
    "PReLU": _prelu,
    "MultiHeadAttention": attention.multi_head_attention,
    "Attention": attention.dot_attention,
    "AdditiveAttention": attention.additive_attention,
    "TimeDistributedDense": _dense,
}

#: layers with no initialized weights (activations, shape ops, pooling, merges, ...).
WEIGHTLESS: frozenset[str] = frozenset({
    "InputLayer", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Flatten", "Reshape", "Permute", "RepeatVector", "Masking",
    "ActivityRegularization", "UnitNormalization", "Identity", "Rescaling", "Resizing",
    "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomCrop", "RandomContrast",
    "RandomTranslation", "Lambda", "TFOpLambda", "SlicingOpLambda", "Merge", "Add", "Subtract",
    "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    *(f"{p}{k}{n}D" for p in ("Max", "Average", "GlobalMax", "GlobalAverage")
      for k in ("Pooling",) for n in (1, 2, 3)),
    *(f"{op}{n}D" for op in ("ZeroPadding", "Cropping", "UpSampling") for n in (1, 2, 3)),
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
})


def weights_of(ctx: LayerCtx) -> list[WeightDef] | None:
    """The weights of a layer, ``[]`` for a known weightless layer, None for an unknown class."""
    if ctx.class_name in FAMILIES:
        return FAMILIES[ctx.class_name](ctx)
    if ctx.class_name in WEIGHTLESS:
        return []
    return None
