"""The row types of the Keras layer table: a layer, its weights and its Keras 3 seed draws.

Pure data (no torch). :class:`KerasLayer` is one row of :mod:`kerasinit.mappings.layers.table`;
:class:`LayerWeight` one of its weights; :class:`LayerDraws` / :class:`Site` where Keras 3 draws
its seeds while constructing and building the layer.

**Keras 3 draws.** ``keras.utils.set_random_seed(s)`` seeds Python's global :mod:`random`. Every
unseeded Keras 3 ``RandomInitializer`` and every ``SeedGenerator(seed=None)`` then takes
``random.randint(1, 10**9)`` **when the object is constructed**: in the layer's ``__init__``
(``initializers.get(...)``) or, for a few layers, in ``build`` (sublayers, weights created from a
string identifier). Measured on Keras 3.15.1 and keras_hub 0.32 by logging every draw with the
objects on the stack. A site draws only when its condition holds:

* ``Site("initializer", "kernel_initializer")``: draws if that initializer (the config's, else
  ``default``, else the layer's default for that keyword) is random and has ``seed=None``. Such a
  site draws even when the weight is never created (``Dense(use_bias=False,
  bias_initializer="he_normal")`` draws twice).
* ``Site("seed_generator", "seed")``: a ``SeedGenerator(config["seed"])``: draws if that is None.
* ``when``: the config key that must be truthy (> 0) for the site to exist (``Dropout`` rate),
  ``when_default`` its default.
* ``prefix``: the sublayer whose weights the draw seeds (``"query/"`` in MultiHeadAttention).

Example:
    >>> w = LayerWeight("kernel", "kernel", "kernel_initializer", "glorot_uniform", ("in", "units"))
    >>> row = KerasLayer("Dense", (w,), draws=LayerDraws((Site("initializer", w.keyword or ""),)))
    >>> [s.key for s in row.draws.init] if row.draws else None
    ['kernel_initializer']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["KerasLayer", "LayerDraws", "LayerWeight", "Site", "SiteKind"]

SiteKind = Literal["initializer", "seed_generator"]


@dataclass(frozen=True)
class LayerWeight:
    """One weight of a Keras layer.

    Attributes:
        name: the Keras weight name (``"kernel"``; ``"query/kernel"`` for sublayers).
        role: kerasinit's role (``"kernel"``, ``"bias"``, ``"recurrent_kernel"``, ``"gamma"``...).
        keyword: the config key of its initializer (``"kernel_initializer"``); None when the
            layer has no initializer key for it (the default, or ``value_key``, decides).
        default: the initializer Keras uses when the config does not say.
        shape: the Keras shape rule (tokens; see :mod:`kerasinit.mappings.layers`).
        legacy_keys: older config keys of the same initializer (Keras 1 ``"init"``).
        when: config flag(s) (``"use_bias|bias"``) that must not be false for the weight to
            exist.
        value_key: a config key holding a constant the weight starts at (LayerScale's
            ``init_values``): the initializer is ``Constant(config[value_key])``.
        names_by_major: the weight's name in other Keras majors (``{3: "kernel"}``).
        buffer: a non-trainable statistic (BatchNormalization's moving mean / variance).
    """

    name: str
    role: str
    keyword: str | None
    default: object
    shape: tuple[str, ...]
    legacy_keys: tuple[str, ...] = ()
    when: str | None = None
    value_key: str | None = None
    names_by_major: Mapping[int, str] = field(default_factory=dict)
    buffer: bool = False

    def keras_name(self, major: int) -> str:
        """The weight's name in Keras ``major``."""
        return self.names_by_major.get(major, self.name)


@dataclass(frozen=True)
class Site:
    """One place where a Keras 3 layer may draw a seed.

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
    """The Keras 3 draw sites of a layer class, in order: at construction, then at build."""

    init: tuple[Site, ...] = ()
    build: tuple[Site, ...] = ()


@dataclass(frozen=True)
class KerasLayer:
    """A Keras layer class: its weights and where Keras 3 draws its seeds.

    Attributes:
        class_name: the Keras class (``"Dense"``).
        weights: its weights, in Keras's creation order (empty: a layer without weights).
        builder: how :mod:`kerasinit.porting.layers` derives the shapes: ``"generic"`` (from
            the shape tokens) or a named family with its own rule (``"conv"``, ``"rnn"``...).
        aliases: other class names of the same layer (Keras 1 names, cells, CuDNN variants).
        torch: the torch modules that play it in :mod:`kerasinit.modules` (empty: porting only).
        gates: number of gates (recurrent layers) and ``gate_order`` their Keras order.
        options: other initialization options and their Keras default (``unit_forget_bias``).
        quirks: per-version behaviour, in words (shown in the docs).
        draws: where Keras 3 draws seeds for it, in order (including draws that seed no
            weight); None where not measured.
        axes: how an ``axis`` list orders the weight's dims: ``"given"`` (the config's order),
            ``"sorted"`` (Keras sorts the raw values: RMSNormalization) or ``"version"`` (the
            version's :attr:`~kerasinit.mappings.versions.KerasVersion.layer_norm_axes` rule:
            LayerNormalization).
        ranges: config values that versions with
            :attr:`~kerasinit.mappings.versions.KerasVersion.validates_ranges` refuse outside
            ``[low, high]`` (Keras 3.16: BatchNormalization ``momentum``).
    """

    class_name: str
    weights: tuple[LayerWeight, ...]
    builder: str = "generic"
    aliases: tuple[str, ...] = ()
    torch: tuple[str, ...] = ()
    gates: int = 1
    gate_order: str = ""
    options: Mapping[str, object] = field(default_factory=dict)
    quirks: tuple[str, ...] = ()
    draws: LayerDraws | None = None
    axes: Literal["given", "sorted", "version"] = "given"
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
