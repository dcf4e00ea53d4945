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

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from kerasinit.bridge.checks import check_generator, check_tensor, computed_by
from kerasinit.bridge.initializer import Initializer, RngName, get
from kerasinit.bridge.layouts import Layout
from kerasinit.bridge.samplers import Plan
from kerasinit.mappings.errors import (
    InitializerArgumentError,
    LayoutError,
    format_choices,
    shown,
)
from kerasinit.mappings.versions import KerasVersion, VersionLike, parse_version
from kerasinit.modules.keywords import (
    ModuleKeywordError,
    bind,
    parse_keywords,
    resolve_keywords,
)
from kerasinit.modules.params import (
    KEYWORDS,
    MHABias,
    ModuleView,
    ParamSpec,
    keras_defaults,
    module_params,
    module_view,
    skipped_params,
)
from kerasinit.modules.report import InitReport, ReportRow, SkippedParam, make_row
from kerasinit.modules.rnn import (
    RNN_LAYERS,
    RnnBias,
    apply_rnn_bias,
    gru_reset_after,
    plan_rnn_bias,
    qualified,
    tensor_at,
    version_layout,
)
from kerasinit.modules.seeds import warn_identical

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


# -- planning (pure: validates, writes nothing) -------------------------------------------
@dataclass(frozen=True)
class _Fill:
    tensor: torch.Tensor
    init: Initializer
    layout: Layout
    plan: Plan
    zero_rows: tuple[int, ...] = ()  # Embedding padding_idx rows, zeroed as torch does
    name: str = ""


_Action = _Fill | RnnBias


def _walk(module: nn.Module, recurse: bool) -> Iterator[tuple[str, nn.Module, ModuleView]]:
    """``(prefix, module, its view)`` for each module to visit (claimed children skipped)."""
    if not recurse:
        yield "", module, module_view(module)
        return
    claimed: set[str] = set()
    for prefix, m in module.named_modules():
        if prefix in claimed:
            continue
        view = module_view(m)
        claimed.update(f"{prefix}.{c}" if prefix else c for c in view.claimed)
        yield prefix, m, view


def _plan_module(
    prefix: str, module: nn.Module, view: ModuleView, inits: dict[str, Initializer],
    forget: bool | None, version: KerasVersion,
) -> tuple[list[_Action], list[ReportRow], set[str]]:
    actions: list[_Action] = []
    rows: list[ReportRow] = []
    used: set[str] = set()
    specs = {p.name: p for p in view.specs}
    for spec in specs.values():
        if spec.keras_layer in RNN_LAYERS and spec.role in ("bias", "recurrent_bias"):
            if spec.role == "bias":
                plan_rnn_bias(prefix, module, spec, specs, inits, forget, version,
                               actions, rows, used)
            continue
        init = inits.get(spec.keyword)
        if init is None:
            continue
        computed = computed_by(module, spec.name)
        if computed is not None:
            raise LayoutError(
                f"{qualified(prefix, spec.name)} is recomputed by {computed}: a write would be "
                f"lost (nothing was written). Initialize first, then parametrize.")
        tensor = tensor_at(module, spec.name)
        layout = version_layout(spec, version)
        plan = init.plan(tensor, layout=layout)  # checks shape and dtype before any write
        resolved = plan[0][2] if plan[0][0] is None else tuple(r for _, _, r in plan)
        pad = getattr(module, "padding_idx", None) if spec.role == "embeddings" else None
        zero_rows = () if pad is None else (int(pad),)
        note = f"padding_idx row {pad} zeroed as torch does" if zero_rows else ""
        if layout is not spec.layout:
            note = "Keras 1: one weight per gate (W_i, U_i, ...)"
        actions.append(_Fill(tensor, init, layout, plan, zero_rows,
                             qualified(prefix, spec.name)))
        rows.append(make_row(qualified(prefix, spec.name), spec, init, layout, resolved, note))
        used.add(spec.keyword)
    return actions, rows, used


def _warn_identical(actions: list[_Action], generator: torch.Generator | None) -> None:
    if generator is None:
        warn_identical([(a.name, a.init, tuple(a.tensor.shape), a.layout)
                        for a in actions if isinstance(a, _Fill) and a.tensor.numel() > 1])


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


def validate_actions(actions: list[_Action], generator: object) -> None:
    """Every check the writes will make, for every tensor, before the first write: a failure
    leaves all tensors bit-identical and the global RNG untouched."""
    for a in actions:
        if isinstance(a, _Fill):
            a.init.validate(a.tensor, layout=a.layout, generator=generator)  # type: ignore[arg-type]
            continue
        for t in (a.bias_ih, a.bias_hh):
            check_tensor(t, "RNN bias")
            if not t.dtype.is_floating_point:
                raise LayoutError(f"RNN bias: expected a floating-point tensor, got {t.dtype}.")
        if a.init is not None:
            rows = 2 if a.reset_after else 1
            probe = torch.empty((rows, a.bias_ih.shape[0]), dtype=a.bias_ih.dtype, device="meta")
            a.init.validate(probe, layout="keras")
            check_generator(generator, a.bias_ih, a.init.class_name)


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


def _apply(actions: list[_Action], generator: torch.Generator | None) -> None:
    validate_actions(actions, generator)
    with torch.no_grad():
        for a in actions:
            if isinstance(a, _Fill):
                a.init.fill_planned(a.tensor, a.plan, layout=a.layout, generator=generator)
                for r in a.zero_rows:
                    if not a.tensor.is_meta:
                        a.tensor[r].zero_()
            else:
                apply_rnn_bias(a, generator)


def _skipped(prefix: str, module: nn.Module, view: ModuleView) -> list[SkippedParam]:
    return [SkippedParam(qualified(prefix, n), type(module).__name__, r)
            for n, r in view.skipped]


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
    _warn_identical(actions, generator)
    _apply(actions, generator)
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
) -> tuple[list[_Action], list[ReportRow], list[SkippedParam], KerasVersion]:
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
    actions: list[_Action] = []
    rows: list[ReportRow] = []
    skipped: list[SkippedParam] = []
    used: set[str] = set()
    available: set[str] = set()
    index = 0
    for prefix, m, view in _walk(module, recurse):
        module_inits = inits if seed is None or index == 0 else {
            k: bind(b, _module_seed(seed, index), rng) for k, b in bases.items()}
        a, r, u = _plan_module(prefix, m, view, module_inits, forget, version)
        index += bool(a)
        actions += a
        rows += r
        used |= u
        available |= {p.keyword for p in view.specs}
        available |= {"unit_forget_bias" for p in view.specs
                      if p.keras_layer.startswith("LSTM")}
        skipped += _skipped(prefix, m, view)
    if recurse or _has_own_parameters(module):  # model.apply(...) visits ReLU, containers, ...
        _unmatched(given - used, module, available)
    return actions, rows, skipped, version


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
    actions: list[_Action] = []
    rows: list[ReportRow] = []
    skipped: list[SkippedParam] = []
    index = 0
    parsed: dict[tuple[str, ...], tuple[dict[str, Initializer], bool | None]] = {}
    for prefix, m, view in _walk(module, recurse):
        specs = view.specs
        skipped += _skipped(prefix, m, view)
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
        a, r, _ = _plan_module(prefix, m, view, inits, forget, version)
        actions += a
        rows += r
        index += 1
    _warn_identical(actions, generator)
    _apply(actions, generator)
    return InitReport(tuple(rows), tuple(skipped), version.label())
