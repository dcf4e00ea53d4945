"""THE Keras layer table: one row per Keras layer class kerasinit knows. Add a layer here.

Pure data (no torch). Each :class:`~kerasinit.mappings.layers.schema.KerasLayer` row states the
class's weights (name, role, initializer keyword, default, Keras shape rule), gate layout,
per-version quirks, the torch modules that play it and where Keras 3 draws its seeds (in order,
including the draws that leave no weight). Layers without weights are rows too (``weights=()``):
porting knows they need nothing, replay knows their draws. :mod:`kerasinit.mappings.layers` reads
:data:`ROWS` into the lookups every other package uses; ``docs/layers.md`` is generated from it.

Example:
    >>> [r.class_name for r in ROWS][:3]
    ['Dense', 'TernaryDense', 'EinsumDense']
"""

from __future__ import annotations

from collections.abc import Mapping

from kerasinit.mappings.layers.schema import KerasLayer, LayerDraws, LayerWeight, Site

__all__ = ["ROWS", "UNIFORM_005", "WRAPPERS"]

#: Keras's Embedding default, RandomUniform(-0.05, 0.05), in every version.
UNIFORM_005: Mapping[str, object] = {"class_name": "RandomUniform",
                                     "config": {"minval": -0.05, "maxval": 0.05}}


def _kernel(shape: tuple[str, ...], legacy: tuple[str, ...] = ("init",)) -> LayerWeight:
    return LayerWeight("kernel", "kernel", "kernel_initializer", "glorot_uniform", shape,
                       legacy_keys=legacy)


def _bias(shape: tuple[str, ...], when: str | None = "use_bias|bias") -> LayerWeight:
    return LayerWeight("bias", "bias", "bias_initializer", "zeros", shape, when=when)


def _gamma_beta(shape: tuple[str, ...], legacy: bool = False) -> tuple[LayerWeight, ...]:
    return (LayerWeight("gamma", "gamma", "gamma_initializer", "ones", shape,
                        legacy_keys=("gamma_init",) if legacy else (), when="scale"),
            LayerWeight("beta", "beta", "beta_initializer", "zeros", shape,
                        legacy_keys=("beta_init",) if legacy else (), when="center"))


def _init(*keys: str) -> LayerDraws:
    """Draws at construction: one unseeded initializer object per keyword, in this order."""
    return LayerDraws(tuple(Site("initializer", k) for k in keys))


# Keras 3 draw orders shared by several rows
_SEED = Site("seed_generator", "seed")
_KB = _init("kernel_initializer", "bias_initializer")
_RNN_KEYS = ("kernel_initializer", "recurrent_initializer", "bias_initializer")
_CELL = LayerDraws((*_init(*_RNN_KEYS).init, _SEED))  # LSTM, GRU: initializers, then the seed
_SEED_FIRST = LayerDraws((_SEED, *_init(*_RNN_KEYS).init))  # SimpleRNN, ConvLSTM
_NO_DRAWS = LayerDraws()
_DROPOUT = LayerDraws((Site("seed_generator", "seed", "rate"),))
_AUGMENT = LayerDraws((_SEED,))


def _attention_build(gate: bool) -> tuple[Site, ...]:
    """MultiHeadAttention / GroupQueryAttention build: each sublayer clones the layer's kernel
    and bias initializers (``from_config(get_config())``: an unseeded one draws again); the
    Dropout sublayer (``seed=layer.seed``) is created between value and output."""
    subs = ["query", "key", *(["gate"] if gate else []), "value"]
    sites: list[Site] = []
    for sub in subs:
        when = "use_gate" if sub == "gate" else ""
        sites += [Site("initializer", "kernel_initializer", when, prefix=f"{sub}/"),
                  Site("initializer", "bias_initializer", when, prefix=f"{sub}/")]
    sites.append(Site("seed_generator", "seed", "dropout", prefix="dropout/"))
    sites += [Site("initializer", "kernel_initializer", prefix="attention_output/"),
              Site("initializer", "bias_initializer", prefix="attention_output/")]
    return tuple(sites)


# the layer's own initializers draw at construction but seed nothing: each sublayer clones them
_MHA_DRAWS = LayerDraws(
    (Site("initializer", "kernel_initializer", used=False),
     Site("initializer", "bias_initializer", used=False)),
    _attention_build(gate=True))

_K = ("*kernel_size",)
_RNN_QUIRKS = ("Keras 1 (consume_less != 'gpu') keeps one kernel per gate (W_i, U_i, ...): "
               "fans and the recurrent Orthogonal apply per gate block",)
_GRU_QUIRK = ("reset_after defaults to True in Keras 3 and tf.keras >= 2.3 (bias (2, 3H)), "
              "False before (bias (3H,))",)
_LSTM_OPTIONS = {"unit_forget_bias": True}
_LSTM_QUIRK = ("unit_forget_bias (Keras 1: forget_bias_init='one') puts 1 on the forget block "
               "[H:2H] of the bias",)
_MHA_QUIRK = ("Keras >= 3.15 computes VarianceScaling fans of the projection kernels from the "
              "einsum axes; older versions use the rank rule",)


def _rnn(name: str, gates: int, order: str, torch: tuple[str, ...], draws: LayerDraws,
         aliases: tuple[str, ...] = (), **extra: object) -> KerasLayer:
    g = f"{gates}*units|output_dim" if gates > 1 else "units|output_dim"
    return KerasLayer(name, (
        _kernel(("in", g)),
        LayerWeight("recurrent_kernel", "recurrent_kernel", "recurrent_initializer",
                    "orthogonal", ("units|output_dim", g), legacy_keys=("inner_init",)),
        _bias((g,))), builder="rnn", aliases=aliases, torch=torch, gates=gates,
        gate_order=order, draws=draws, **extra)  # type: ignore[arg-type]


def _weightless(*names: str, draws: LayerDraws | None = None) -> tuple[KerasLayer, ...]:
    """Rows of layers without weights (``draws``: their Keras 3 draws, if measured)."""
    return tuple(KerasLayer(name, (), draws=draws) for name in names)


_WEIGHTED: tuple[KerasLayer, ...] = (
    KerasLayer("Dense", (_kernel(("in", "units|output_dim")), _bias(("units|output_dim",))),
               aliases=("TimeDistributedDense",), torch=("Linear",), draws=_KB),
    KerasLayer("TernaryDense", (_kernel(("in", "units")), _bias(("units",))), torch=("Linear",),
               quirks=("Keras 3.16 (nightly): Dense weights and defaults (glorot_uniform / "
                       "zeros), paired with nn.Linear for initialization; its forward "
                       "ternarises the kernel, which nn.Linear does not",), draws=_KB),
    # the >= 3.15 einsum-axes rewrite reuses the drawn seed
    KerasLayer("EinsumDense", (_kernel(("from the equation",), legacy=()),
                               _bias(("from bias_axes",), when="bias_axes")),
               builder="einsum", quirks=_MHA_QUIRK, draws=_KB),
    *(KerasLayer(f"Conv{n}D", (_kernel((*_K, "in_channels/groups", "filters")),
                               _bias(("filters",))), builder="conv",
                 aliases=(f"Convolution{n}D",) + ((f"AtrousConvolution{n}D",) if n < 3 else ()),
                 torch=(f"Conv{n}d",),
                 quirks=("Keras 1 computes Conv1D fans on its 4-D 'th' kernel and 'th' Conv3D "
                         "fans on the channels-first kernel",), draws=_KB)
      for n in (1, 2, 3)),
    *(KerasLayer(f"Conv{n}DTranspose", (_kernel((*_K, "filters", "in_channels")),
                                        _bias(("filters",))), builder="conv_transpose",
                 aliases=("Deconvolution2D",) if n == 2 else (), torch=(f"ConvTranspose{n}d",),
                 draws=_KB)
      for n in (1, 2, 3)),
    *(KerasLayer(f"DepthwiseConv{n}D", (
        LayerWeight("depthwise_kernel", "depthwise_kernel", "depthwise_initializer",
                    "glorot_uniform", (*_K, "in_channels", "depth_multiplier"),
                    legacy_keys=("init",), names_by_major={3: "kernel"}),
        _bias(("in_channels*depth_multiplier",))), builder="depthwise",
        torch=(f"Conv{n}d(groups=in_channels)",),
        draws=_init("depthwise_initializer", "bias_initializer")) for n in (1, 2)),
    *(KerasLayer(f"SeparableConv{n}D", (
        LayerWeight("depthwise_kernel", "depthwise_kernel", "depthwise_initializer",
                    "glorot_uniform", (*_K, "in_channels", "depth_multiplier"),
                    legacy_keys=("init",)),
        LayerWeight("pointwise_kernel", "pointwise_kernel", "pointwise_initializer",
                    "glorot_uniform", ("1...", "in_channels*depth_multiplier", "filters"),
                    legacy_keys=("init",)),
        _bias(("filters",))), builder="separable",
        aliases=("SeparableConvolution2D",) if n == 2 else (),
        torch=(f"kerasinit.nn.SeparableConv{n}d",),
        draws=_init("depthwise_initializer", "pointwise_initializer", "bias_initializer"))
      for n in (1, 2)),
    KerasLayer("Embedding", (LayerWeight("embeddings", "embeddings", "embeddings_initializer",
                                         UNIFORM_005, ("input_dim", "output_dim"),
                                         legacy_keys=("init",)),),
               torch=("Embedding", "EmbeddingBag"), draws=_init("embeddings_initializer")),
    _rnn("SimpleRNN", 1, "", ("RNN",), _SEED_FIRST),
    _rnn("LSTM", 4, "i,f,c,o", ("LSTM",), _CELL, aliases=("CuDNNLSTM",), options=_LSTM_OPTIONS,
         quirks=_LSTM_QUIRK + _RNN_QUIRKS),
    _rnn("GRU", 3, "z,r,h", ("GRU",), _CELL, aliases=("CuDNNGRU",),
         quirks=_GRU_QUIRK + _RNN_QUIRKS),
    _rnn("SimpleRNNCell", 1, "", ("RNNCell",), _SEED_FIRST),
    _rnn("LSTMCell", 4, "i,f,c,o", ("LSTMCell",), _CELL, options=_LSTM_OPTIONS,
         quirks=_LSTM_QUIRK + _RNN_QUIRKS),
    _rnn("GRUCell", 3, "z,r,h", ("GRUCell",), _CELL, quirks=_GRU_QUIRK + _RNN_QUIRKS),
    *(KerasLayer(f"ConvLSTM{n}D", (
        _kernel((*_K, "in_channels", "4*filters")),
        LayerWeight("recurrent_kernel", "recurrent_kernel", "recurrent_initializer",
                    "orthogonal", (*_K, "filters", "4*filters")),
        _bias(("4*filters",))), builder="conv_lstm", gates=4, gate_order="i,f,c,o",
        options=_LSTM_OPTIONS, quirks=_LSTM_QUIRK, draws=_SEED_FIRST) for n in (1, 2, 3)),
    KerasLayer("BatchNormalization", (
        *_gamma_beta(("axis",), legacy=True),
        LayerWeight("moving_mean", "moving_mean", "moving_mean_initializer", "zeros",
                    ("axis",), buffer=True),
        LayerWeight("moving_variance", "moving_variance", "moving_variance_initializer", "ones",
                    ("axis",), buffer=True)),
        torch=("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"),
        draws=_init("beta_initializer", "gamma_initializer", "moving_mean_initializer",
                    "moving_variance_initializer"), ranges={"momentum": (0.0, 1.0)},
        quirks=("Keras 3.16 refuses momentum outside [0, 1]; older versions accept any value",)),
    KerasLayer("LayerNormalization", _gamma_beta(("axis",), legacy=True), torch=("LayerNorm",),
               draws=_init("beta_initializer", "gamma_initializer"), axes="version",
               quirks=("an axis list is reordered at build: tf_keras keeps the config order; "
                       "Keras 3.0-3.15 sort the raw values (axis=[1, -1] on (None, 5, 7) gives "
                       "gamma (7, 5)); Keras 3.16 makes them non-negative, then sorts (gamma "
                       "(5, 7); axis=-1 is saved as [2]) and refuses duplicates",)),
    KerasLayer("GroupNormalization", _gamma_beta(("axis",)), torch=("GroupNorm",),
               draws=_init("beta_initializer", "gamma_initializer")),
    KerasLayer("PReLU", (LayerWeight("alpha", "alpha", "alpha_initializer", "zeros",
                                     ("input[1:] with shared_axes set to 1",),
                                     legacy_keys=("init",)),),
               builder="prelu", torch=("PReLU",), draws=_init("alpha_initializer")),
    KerasLayer("MultiHeadAttention", (
        _kernel(("E", "num_heads", "key_dim|value_dim"), legacy=()),
        _bias(("num_heads", "key_dim|value_dim"), when="use_bias")),
        builder="mha", torch=("MultiheadAttention",),
        quirks=(*_MHA_QUIRK, "weights query/, key/, value/, attention_output/ (and gate/ with "
                             "use_gate) kernel and bias"), draws=_MHA_DRAWS),
    KerasLayer("Attention", (
        LayerWeight("scale", "scale", None, "ones", (), when="use_scale"),
        LayerWeight("concat_score_weight", "scale", None, "ones", ())),
        builder="dot_attention", quirks=("concat_score_weight only with score_mode='concat'",),
        draws=LayerDraws((Site("seed_generator", "seed", "dropout"),))),
    KerasLayer("AdditiveAttention", (
        LayerWeight("scale", "scale", None, "glorot_uniform", ("in",), when="use_scale"),),
        draws=LayerDraws((Site("seed_generator", "seed", "dropout"),),
                         (Site("initializer", "scale", "use_scale", when_default=True,
                               default="glorot_uniform"),))),
    KerasLayer("GroupedQueryAttention", (
        _kernel(("E", "num_query_heads|num_key_value_heads", "head_dim"), legacy=()),
        _bias(("num_query_heads|num_key_value_heads", "head_dim"), when="use_bias")),
        builder="gqa", aliases=("GroupQueryAttention",),
        quirks=(*_MHA_QUIRK, "weights query/, key/, (gate/,) value/, attention_output/: key and "
                             "value have num_key_value_heads"), draws=_MHA_DRAWS),
    # keras_hub: reverse_embeddings (tie_weights=False) reuse the embeddings initializer object,
    # so both weights share its one draw
    KerasLayer("ReversibleEmbedding", (
        LayerWeight("embeddings", "embeddings", "embeddings_initializer", UNIFORM_005,
                    ("input_dim", "output_dim")),
        LayerWeight("reverse_embeddings", "reverse_embeddings", "embeddings_initializer",
                    UNIFORM_005, ("output_dim", "input_dim"))),
        builder="reversible_embedding",
        quirks=("reverse_embeddings exists only with tie_weights=False (keras and keras_hub)",),
        draws=_init("embeddings_initializer")),
    KerasLayer("PositionEmbedding", (
        LayerWeight("embeddings", "embeddings", "initializer", "glorot_uniform",
                    ("sequence_length", "in")),),
        quirks=("keras_hub layer; its initializer key is plain `initializer`",),
        draws=_init("initializer")),
    KerasLayer("LayerScale", (
        LayerWeight("gamma", "scale", None, "ones", ("projection_dim",),
                    value_key="init_values"),),
        quirks=("keras.applications ConvNeXt: Constant(init_values); the weight is created "
                "unnamed (Keras calls it `variable`)",), draws=_NO_DRAWS),
    KerasLayer("RMSNormalization", (
        LayerWeight("scale", "gamma", None, "ones", ("axis",)),), draws=_NO_DRAWS, axes="sorted",
        quirks=("an axis list is sorted (raw values) at build, in 3.15 and 3.16",)),
    KerasLayer("STFTSpectrogram", tuple(
        LayerWeight(f"{side}_kernel", "kernel", None, "stft",
                    ("frame_length", "1", "fft_length // 2 + 1")) for side in ("real", "imag")),
        builder="stft", quirks=("STFT(side, window, scaling, periodic) from the layer's config; "
                                "mode 'real' / 'imag' drops the other kernel",), draws=_NO_DRAWS),
    # a wrapper: the wrapped layer draws as itself (constructed first); build adds vector_u
    KerasLayer("SpectralNormalization", (
        LayerWeight("vector_u", "vector_u", None,
                    {"class_name": "TruncatedNormal", "config": {"stddev": 0.02}},
                    ("1", "units|filters|output_dim of the wrapped layer")),),
        builder="spectral_normalization",
        quirks=("a wrapper: the wrapped layer's weights are planned as its own layer; vector_u "
                "is not trained",),
        draws=LayerDraws((), (Site("initializer", "vector_u",
                                   default={"class_name": "TruncatedNormal",
                                            "config": {"stddev": 0.02}}),))),
    KerasLayer("LlamaLayerNorm", (LayerWeight("scale", "gamma", None, "ones", ("in",)),),
               quirks=("keras_hub layer (Llama's RMS norm); no initializer key: `scale` is "
                       "created with initializer 'ones' in build",), draws=_NO_DRAWS),
    *(KerasLayer(name, (
        LayerWeight("lambda1", "gamma", None, {"class_name": "Constant", "config": {"value": 1.0}},
                    ("hidden_dim",), value_key="init_values"),),
        quirks=("keras_hub layer; no initializer key: the weight starts at `init_values`",),
        draws=_NO_DRAWS)
      for name in ("DINOV2LayerScale", "DINOV3LayerScale")),
)

_WEIGHTLESS: tuple[KerasLayer, ...] = (
    *_weightless("Dropout", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
                 "SpatialDropout2D", "SpatialDropout3D", draws=_DROPOUT),
    KerasLayer("GaussianNoise", (), draws=LayerDraws((Site("seed_generator", "seed", "stddev"),))),
    *_weightless("RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast",
                 "RandomTranslation", "RandomBrightness", draws=_AUGMENT),
    # RandomCrop draws its own seed in __init__ and then a SeedGenerator(seed=None); its config
    # records the first draw, so a model rebuilt from that config draws none.
    KerasLayer("RandomCrop", (), draws=LayerDraws((_SEED, _SEED))),
    KerasLayer("Mosaic", (), quirks=("Keras 3.16 (nightly) image augmentation; its seed draws "
                                     "are not measured",)),
    # activations, shape ops, pooling, merges: no weights (draws not measured)
    *_weightless(
        "InputLayer", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU",
        "Flatten", "Reshape", "Permute", "RepeatVector", "Masking", "ActivityRegularization",
        "UnitNormalization", "Identity", "Rescaling", "Resizing", "CenterCrop", "Lambda",
        "TFOpLambda", "SlicingOpLambda", "Merge", "Add", "Subtract", "Multiply", "Average",
        "Maximum", "Minimum", "Concatenate", "Dot",
        *(f"{p}Pooling{n}D" for p in ("Max", "Average", "GlobalMax", "GlobalAverage")
          for n in (1, 2, 3)),
        *(f"{op}{n}D" for op in ("ZeroPadding", "Cropping", "UpSampling") for n in (1, 2, 3)),
        "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
        "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D"),
)

#: every row: the layers with weights, then those without
ROWS: tuple[KerasLayer, ...] = (*_WEIGHTED, *_WEIGHTLESS)

#: layers that have their own weights and wrap a layer planned on its own (config key ``layer``)
WRAPPERS: frozenset[str] = frozenset({"SpectralNormalization"})
