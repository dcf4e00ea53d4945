"""Where Keras 3 layers draw seeds from Python's ``random``: one row per layer class, pure data.

``keras.utils.set_random_seed(s)`` seeds Python's global :mod:`random`. Every unseeded Keras 3
``RandomInitializer`` and every ``SeedGenerator(seed=None)`` then takes
``random.randint(1, 10**9)`` **when the object is constructed**: in the layer's ``__init__``
(``initializers.get(...)``) or, for a few layers, in ``build`` (sublayers, weights created from a
string identifier). Measured on Keras 3.15.1 by logging every draw with the objects on the stack.

Each entry lists the draw *sites* of a class in order; a site draws only when its condition holds:

* ``Site("initializer", "kernel_initializer")``: draws if that initializer (the config's, else
  ``default``) is random and has ``seed=None``. Such a site draws even when the weight is never
  created (``Dense(use_bias=False, bias_initializer="he_normal")`` draws twice).
* ``Site("seed_generator", "seed")``: a ``SeedGenerator(config["seed"])``: draws if that is None.
* ``when``: the config key that must be truthy (> 0) for the site to exist (``Dropout`` rate),
  ``when_default`` its default.
* ``prefix``: the sublayer whose weights the draw seeds (``"query/"`` in MultiHeadAttention).

>>> [s.key for s in KERAS3_DRAWS["LSTM"].init]
['kernel_initializer', 'recurrent_initializer', 'bias_initializer', 'seed']
>>> [s.key for s in KERAS3_DRAWS["SimpleRNN"].init][0]
'seed'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KERAS3_DRAWS", "LayerDraws", "Site"]

SiteKind = Literal["initializer", "seed_generator"]


@dataclass(frozen=True)
class Site:
    """One place where a layer may draw a seed.

    Attributes:
        kind: ``"initializer"`` (an initializer object is constructed) or ``"seed_generator"``.
        key: the initializer keyword (``"kernel_initializer"``), or the config key of the seed.
        when: config key that must be truthy and > 0 for the site to exist ("" = always).
        when_default: the value of ``when`` when the config omits it.
        prefix: sublayer prefix of the weights it seeds (``"query/"``), "" for the layer itself.
        default: the identifier Keras uses when the config has no ``key``.
        used: False for a draw whose object never initializes a weight.
    """

    kind: SiteKind
    key: str
    when: str = ""
    when_default: object = 0
    prefix: str = ""
    default: object = None
    used: bool = True


@dataclass(frozen=True)
class LayerDraws:
    """The draw sites of a layer class: at construction, then at build."""

    init: tuple[Site, ...] = ()
    build: tuple[Site, ...] = ()


def _init(*keys: str) -> tuple[Site, ...]:
    return tuple(Site("initializer", k) for k in keys)


_SEED = Site("seed_generator", "seed")
_KB = _init("kernel_initializer", "bias_initializer")
_RNN = _init("kernel_initializer", "recurrent_initializer", "bias_initializer")
_CELL = LayerDraws((*_RNN, _SEED))
_SEED_FIRST = LayerDraws((_SEED, *_RNN))


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


_MHA = LayerDraws(
    (Site("initializer", "kernel_initializer", used=False),
     Site("initializer", "bias_initializer", used=False)),
    _attention_build(gate=True))

_DROPOUT = LayerDraws((Site("seed_generator", "seed", "rate"),))
_AUGMENT = LayerDraws((_SEED,))

#: Keras 3 layer class -> its draw sites (verified on Keras 3.15.1 and keras_hub 0.32).
KERAS3_DRAWS: dict[str, LayerDraws] = {
    "Dense": LayerDraws(_KB),
    "EinsumDense": LayerDraws(_KB),  # the >= 3.15 einsum-axes rewrite reuses the drawn seed
    **{f"Conv{n}D": LayerDraws(_KB) for n in (1, 2, 3)},
    **{f"Conv{n}DTranspose": LayerDraws(_KB) for n in (1, 2, 3)},
    **{f"DepthwiseConv{n}D": LayerDraws(_init("depthwise_initializer", "bias_initializer"))
       for n in (1, 2)},
    **{f"SeparableConv{n}D": LayerDraws(_init("depthwise_initializer", "pointwise_initializer",
                                              "bias_initializer")) for n in (1, 2)},
    "Embedding": LayerDraws(_init("embeddings_initializer")),
    "BatchNormalization": LayerDraws(_init("beta_initializer", "gamma_initializer",
                                           "moving_mean_initializer",
                                           "moving_variance_initializer")),
    "LayerNormalization": LayerDraws(_init("beta_initializer", "gamma_initializer")),
    "GroupNormalization": LayerDraws(_init("beta_initializer", "gamma_initializer")),
    "PReLU": LayerDraws(_init("alpha_initializer")),
    "LSTM": _CELL, "LSTMCell": _CELL, "GRU": _CELL, "GRUCell": _CELL,
    "SimpleRNN": _SEED_FIRST, "SimpleRNNCell": _SEED_FIRST,
    **{f"ConvLSTM{n}D": _SEED_FIRST for n in (1, 2, 3)},
    "Dropout": _DROPOUT, "GaussianDropout": _DROPOUT, "AlphaDropout": _DROPOUT,
    **{f"SpatialDropout{n}D": _DROPOUT for n in (1, 2, 3)},
    "GaussianNoise": LayerDraws((Site("seed_generator", "seed", "stddev"),)),
    "Attention": LayerDraws((Site("seed_generator", "seed", "dropout"),)),
    "AdditiveAttention": LayerDraws(
        (Site("seed_generator", "seed", "dropout"),),
        (Site("initializer", "scale", "use_scale", when_default=True,
              default="glorot_uniform"),)),
    "MultiHeadAttention": _MHA,
    "GroupQueryAttention": _MHA,
    "GroupedQueryAttention": _MHA,
    **{name: _AUGMENT for name in (
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation",
        "RandomBrightness")},
    # no random initializer of their own
    **{name: LayerDraws() for name in (
        "RMSNormalization", "STFTSpectrogram", "LayerScale", "DINOV2LayerScale",
        "DINOV3LayerScale")},
    # a wrapper: the wrapped layer draws as itself (constructed first); build adds vector_u
    "SpectralNormalization": LayerDraws((), (Site(
        "initializer", "vector_u", default={"class_name": "TruncatedNormal",
                                            "config": {"stddev": 0.02}}),)),
    # keras_hub layers: reverse_embeddings (tie_weights=False) reuse the embeddings initializer
    # object, so both weights share its one draw
    "ReversibleEmbedding": LayerDraws(_init("embeddings_initializer")),
    "PositionEmbedding": LayerDraws(_init("initializer")),
    # RandomCrop draws its own seed in __init__ and then a SeedGenerator(seed=None); its config
    # records the first draw, so a model rebuilt from that config draws none.
    "RandomCrop": LayerDraws((Site("seed_generator", "seed"), Site("seed_generator", "seed"))),
}
