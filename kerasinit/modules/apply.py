"""Keras initializers on whole torch modules: :func:`initialize` and :func:`keras_defaults_`.

Each parameter gets the layout of the Keras weight it plays (see
:mod:`kerasinit.modules.params` and :mod:`kerasinit.mappings.layers`), so the fans are
Keras's: depthwise convs (``groups == in_channels``), Embedding (vocab = fan_in), packed MHA
``in_proj_weight`` (one Keras kernel per q/k/v block, fans per the Keras version), and whole
RNN matrices (recurrent orthogonal on the whole Keras ``(H, G·H)`` matrix, never per gate).

RNN biases: see :mod:`kerasinit.modules.rnn` (one Keras bias over ``bias_ih`` + ``bias_hh``).

Everything (keywords, identifiers, Keras version, layouts, shapes) is validated before any
tensor is written.
"""

from __future__ import annotations

import torch
from torch import nn

from kerasinit.bridge.initializer import Initializer, RngName, get
from kerasinit.mappings.errors import (
    InitializerArgumentError,
    format_choices,
    shown,
)
from kerasinit.mappings.versions import KerasVersion, VersionLike, parse_version
from kerasinit.modules.actions import (
    Action,
    apply_actions,
    drop_tied,
    plan_module,
    skipped_of,
    validate_actions,
    walk_views,
    warn_identical_fills,
)
from kerasinit.modules.keywords import (
    ModuleKeywordError,
    bind,
    parse_keywords,
    resolve_keywords,
)
from kerasinit.modules.params import (
    KEYWORDS,
    MHABias,
    ParamSpec,
    keras_defaults,
    module_params,
    skipped_params,
)
from kerasinit.modules.report import InitReport, ReportRow, SkippedParam
from kerasinit.modules.rnn import (
    gru_reset_after,
)

__all__ = [
    "KEYWORDS",
    "InitReport",
    "MHABias",
    "ModuleKeywordError",
    "ParamSpec",
    "ReportRow",
    "SkippedParam",
    "bind",
    "check_initialize",
    "gru_reset_after",
    "initialize",
    "keras_defaults",
    "keras_defaults_",
    "module_params",
    "parse_keywords",
    "resolve_keywords",
    "skipped_params",
]


def _has_own_parameters(module: nn.Module) -> bool:
    return next(iter(module.parameters(recurse=False)), None) is not None


def _unmatched(keywords: set[str], model: nn.Module, available: set[str]) -> None:
    if not keywords:
        return
    listed = format_choices(available) if available else "none"
    raise ModuleKeywordError(
        f"{format_choices(keywords)} matches no weight of {type(model).__name__}. Its Keras "
        f"weights take: {listed}. (Keras depthwise convs take 'depthwise_initializer', "
        f"Embedding 'embeddings_initializer', normalization layers 'gamma_initializer'/"
        f"'beta_initializer'.)")


def check_module(module: object, what: str) -> nn.Module:
    """``module`` if it is a ``torch.nn.Module``, else an :class:`InitializerArgumentError`."""
    if not isinstance(module, nn.Module):
        raise InitializerArgumentError(
            f"{what}: expected a torch.nn.Module. Received {shown(module, 80)} "
            f"(type {type(module).__name__})."
        )
    return module


def _module_seed(seed: int | None, index: int) -> int | None:
    """``seed + index``, wrapped into int64 (Keras's seed range), so every module has a seed."""
    if seed is None:
        return None
    return (seed + index + (1 << 63)) % (1 << 64) - (1 << 63)


def initialize(
    module: nn.Module,
    *,
    keras_version: VersionLike = None,
    generator: torch.Generator | None = None,
    rng: RngName | None = "torch",
    seed: int | None = None,
    recurse: bool = True,
    **initializers: object,
) -> InitReport:
    """Apply Keras initializers, by Keras keyword, to an existing torch module (in place).

    Keywords that are not given (or given as None) leave their parameters unchanged.

    Args:
        module: any torch module; with ``recurse=True`` every submodule is visited.
        keras_version: Keras semantics (fans, MHA einsum axes, GRU ``reset_after``).
        generator: torch generator for every draw (wins over seeds).
        rng: ``"torch"``, ``"tensorflow"`` or ``"keras-torch"`` (see ``kerasinit.get``).
        seed: the whole-model seed rule (shared with :func:`keras_defaults_`): the i-th module
            (``named_modules()`` order) that receives a weight gets ``seed + i``, as if each
            Keras layer were built with its own seeded initializer. Within one module Keras's
            rule holds: a seeded initializer returns the same values on every call, so
            same-shape weights of one module (both directions of a bidirectional RNN, the
            q/k/v blocks of a packed ``in_proj_weight``) are identical, as in Keras; a
            ``UserWarning`` names them. A seed inside a config is kept as given (one seeded
            Keras object shared by every layer). ``generator=`` wins over seeds.
        recurse: visit submodules (else only ``module``'s own weights; a module without
            parameters of its own is then a no-op, so ``model.apply(lambda m:
            kerasinit.initialize(m, recurse=False, ...))`` works).
        **initializers: Keras keywords (``kernel_initializer``, ``bias_initializer``,
            ``recurrent_initializer``, ``unit_forget_bias``, ``embeddings_initializer``,
            ``depthwise_initializer``, ``pointwise_initializer``, ``gamma_initializer``,
            ``beta_initializer``, ``moving_mean_initializer``, ``moving_variance_initializer``,
            ``alpha_initializer``) with any identifier ``kerasinit.get`` accepts.

    Returns:
        An :class:`InitReport` (per tensor: Keras layer, role, initializer, layout, fans;
        ``.skipped``: parameters of modules with no Keras counterpart).

    Raises:
        ModuleKeywordError: unknown keyword (with a did-you-mean), or one that matches no
            weight in ``module``. KerasInitError: bad identifier or version. All raised
            before any tensor is written.

    Example:
        >>> import torch, kerasinit
        >>> conv = torch.nn.Conv2d(64, 256, 3, groups=64)          # depthwise, multiplier 4
        >>> r = kerasinit.initialize(conv, depthwise_initializer="he_normal", bias_initializer="zeros")
        >>> (r["weight"].layout, r["weight"].fan_in, r["weight"].fan_out)
        ('Depthwise(4)', 576.0, 36.0)
    """
    actions, rows, skipped, version = _plan_initialize(
        module, keras_version, rng, seed, recurse, initializers)
    warn_identical_fills(actions, generator)
    apply_actions(actions, generator)
    return InitReport(tuple(rows), tuple(skipped), version.label())


def check_initialize(
    module: nn.Module, *, keras_version: VersionLike = None,
    generator: torch.Generator | None = None, rng: RngName | None = "torch",
    seed: int | None = None, recurse: bool = True, **initializers: object,
) -> None:
    """Every check :func:`initialize` makes with these arguments, writing nothing.

    Example:
        >>> import torch, kerasinit
        >>> check_initialize(torch.nn.Linear(3, 2), kernel_initializer="he_normal")
    """
    actions, *_ = _plan_initialize(module, keras_version, rng, seed, recurse, initializers)
    validate_actions(actions, generator)


def _plan_initialize(
    module: object, keras_version: VersionLike, rng: RngName | None, seed: int | None,
    recurse: object, initializers: dict[str, object],
) -> tuple[list[Action], list[ReportRow], list[SkippedParam], KerasVersion]:
    module = check_module(module, "initialize")
    if not isinstance(recurse, bool):
        raise InitializerArgumentError(
            f"`recurse` must be True or False. Received: {shown(recurse)}.")
    version = parse_version(keras_version)
    if seed is not None:  # checked once, before the per-module seeds are derived
        get("glorot_uniform", seed=seed, rng=rng)
    bases, forget = parse_keywords(initializers, keras_version)  # each identifier parsed once
    inits = {key: bind(base, seed, rng) for key, base in bases.items()}
    given = set(inits) | ({"unit_forget_bias"} if forget is not None else set())
    actions: list[Action] = []
    rows: list[ReportRow] = []
    skipped: list[SkippedParam] = []
    used: set[str] = set()
    available: set[str] = set()
    index = 0
    for prefix, m, view in walk_views(module, recurse):
        module_inits = inits if seed is None or index == 0 else {
            k: bind(b, _module_seed(seed, index), rng) for k, b in bases.items()}
        a, r, u = plan_module(prefix, m, view, module_inits, forget, version)
        index += bool(a)
        actions += a
        rows += r
        used |= u
        available |= {p.keyword for p in view.specs}
        available |= {"unit_forget_bias" for p in view.specs
                      if p.keras_layer.startswith("LSTM")}
        skipped += skipped_of(prefix, m, view)
    if recurse or _has_own_parameters(module):  # model.apply(...) visits ReLU, containers, ...
        _unmatched(given - used, module, available)
    return drop_tied(actions), rows, skipped, version


def keras_defaults_(
    module: nn.Module,
    *,
    keras_version: VersionLike = None,
    generator: torch.Generator | None = None,
    rng: RngName | None = "torch",
    seed: int | None = None,
    recurse: bool = True,
) -> InitReport:
    """Re-initialize every supported submodule with its Keras layer's defaults (in place).

    Dense/Conv/ConvTranspose: glorot_uniform / zeros; DepthwiseConv: glorot_uniform / zeros;
    Embedding: RandomUniform(-0.05, 0.05); SimpleRNN/LSTM/GRU: glorot_uniform / orthogonal /
    zeros (LSTM forget bias 1); MultiHeadAttention: glorot_uniform / zeros with the version's
    fans; BatchNormalization: gamma ones, beta zeros, moving mean zeros, moving variance ones;
    LayerNormalization/GroupNormalization: ones / zeros; PReLU: alpha zeros.

    Args:
        module: the torch model (any ``torch.nn.Module``).
        keras_version: Keras semantics to follow (default: the latest Keras 3).
        generator: torch generator for every draw.
        rng: ``"torch"``, or a seed-faithful stream (needs ``seed``).
        seed: reproducible defaults: the i-th supported module (in ``named_modules()`` order)
            gets Keras defaults seeded with ``seed + i`` (wrapped into int64, Keras's seed
            range; a Keras layer built with seeded initializers) -- the same rule as
            :func:`initialize`; a ``UserWarning`` names same-shape weights of one module that
            get identical values. ``generator=`` wins over it.
        recurse: visit submodules (else only ``module`` itself; usable from ``model.apply``).

    Returns:
        An :class:`InitReport`; ``report.skipped`` lists parameters of unknown modules.

    Example:
        >>> import torch, kerasinit
        >>> model = torch.nn.Sequential(torch.nn.Embedding(1000, 64), torch.nn.Bilinear(64, 64, 8))
        >>> report = kerasinit.keras_defaults_(model)
        >>> report["0.weight"].distribution, [s.name for s in report.skipped]
        ('U[-0.05, 0.05)', ['1.weight', '1.bias'])
    """
    check_module(module, "keras_defaults_")
    if not isinstance(recurse, bool):
        raise InitializerArgumentError(
            f"`recurse` must be True or False. Received: {shown(recurse)}.")
    version = parse_version(keras_version)
    if seed is not None:  # checked once, before the per-module seeds are derived
        get("glorot_uniform", seed=seed, rng=rng)
    actions: list[Action] = []
    rows: list[ReportRow] = []
    skipped: list[SkippedParam] = []
    index = 0
    parsed: dict[tuple[str, ...], tuple[dict[str, Initializer], bool | None]] = {}
    for prefix, m, view in walk_views(module, recurse):
        specs = view.specs
        skipped += skipped_of(prefix, m, view)
        if not specs:
            continue
        layers = tuple(dict.fromkeys(p.keras_layer for p in specs))
        if layers not in parsed:  # each default identifier is parsed once per model
            defaults: dict[str, object] = {}
            for layer in layers:
                defaults.update(keras_defaults(layer, version))
            parsed[layers] = parse_keywords(defaults, version)
        bases, forget = parsed[layers]
        keywords = {p.keyword for p in specs}
        module_seed = _module_seed(seed, index)
        inits = {k: bind(b, module_seed, rng) for k, b in bases.items() if k in keywords}
        a, r, _ = plan_module(prefix, m, view, inits, forget, version)
        actions += a
        rows += r
        index += 1
    actions = drop_tied(actions)
    warn_identical_fills(actions, generator)
    apply_actions(actions, generator)
    return InitReport(tuple(rows), tuple(skipped), version.label())
