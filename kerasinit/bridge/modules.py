"""Keras initializers on whole torch modules: :func:`initialize` and :func:`keras_defaults_`.

Each parameter gets the layout of the Keras weight it plays (see
:mod:`kerasinit.bridge.module_specs` and ``shared/reference/layer-map.md``), so the fans are
Keras's: depthwise convs (``groups == in_channels``), Embedding (vocab = fan_in), packed MHA
``in_proj_weight`` (one Keras kernel per q/k/v block, fans per the Keras version), and whole
RNN matrices (recurrent orthogonal on the whole Keras ``(H, G·H)`` matrix, never per gate).

RNN biases (Keras has one bias; torch has ``bias_ih`` + ``bias_hh``, which are summed):

* SimpleRNN / LSTM (and GRU with ``reset_after=False``, the default before tf.keras 2.3): the
  Keras bias is written to ``bias_ih`` and ``bias_hh`` is set to **zeros**, so the sum is
  exactly Keras's bias. LSTM ``unit_forget_bias=True`` (Keras's default, applied whenever
  ``bias_initializer`` is given unless ``unit_forget_bias=False``) puts exactly 1 on the forget
  slice ``[H:2H]`` of ``bias_ih`` (Keras replaces that slice; it does not add). Given alone,
  ``unit_forget_bias=True`` only sets the forget slices (1 in ``bias_ih``, 0 in ``bias_hh``).
* GRU, ``reset_after=True`` (Keras 3, tf.keras >= 2.3): the Keras bias is ``(2, 3H)``; row 0 goes
  to ``bias_ih`` and row 1 to ``bias_hh`` (gate blocks reordered z,r,h -> r,z,n). Fans are those
  of the ``(2, 3H)`` Keras bias.

Everything (keywords, identifiers, Keras version, layouts, shapes) is validated before any
tensor is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from kerasinit.bridge.initializer import Initializer, get
from kerasinit.bridge.layouts import GRU, KerasLayout, Layout
from kerasinit.bridge.module_report import InitReport, ReportRow, SkippedParam
from kerasinit.bridge.module_specs import (
    KEYWORDS,
    MHABias,
    ParamSpec,
    claimed_children,
    layout_label,
    module_params,
    skipped_params,
)
from kerasinit.mappings.errors import InitializerArgumentError, format_choices, suggest
from kerasinit.mappings.resolve import Resolved
from kerasinit.mappings.versions import KerasVersion, VersionLike, parse_version

__all__ = [
    "KEYWORDS",
    "InitReport",
    "MHABias",
    "ModuleKeywordError",
    "ParamSpec",
    "ReportRow",
    "SkippedParam",
    "gru_reset_after",
    "initialize",
    "keras_defaults",
    "keras_defaults_",
    "module_params",
    "resolve_keywords",
    "skipped_params",
]

_RNN_LAYERS = ("SimpleRNN", "LSTM", "GRU")
_KERAS = KerasLayout()
#: Keras's default per keyword; identical for every weight-bearing layer and Keras 1, 2, 3.
_DEFAULTS: dict[str, object] = {
    "kernel_initializer": "glorot_uniform",
    "bias_initializer": "zeros",
    "recurrent_initializer": "orthogonal",
    "unit_forget_bias": True,
    "embeddings_initializer": "uniform",  # RandomUniform(-0.05, 0.05) in every version
    "depthwise_initializer": "glorot_uniform",
    "pointwise_initializer": "glorot_uniform",
    "gamma_initializer": "ones",
    "beta_initializer": "zeros",
    "moving_mean_initializer": "zeros",
    "moving_variance_initializer": "ones",
    "alpha_initializer": "zeros",
}


class ModuleKeywordError(InitializerArgumentError):
    """An initializer keyword that is unknown, or that matches no weight of the module."""


def keras_defaults(keras_layer: str, keras_version: VersionLike = None) -> dict[str, object]:
    """The Keras default of each initializer keyword a Keras layer takes.

    Example:
        >>> keras_defaults("LSTM")
        {'kernel_initializer': 'glorot_uniform', 'recurrent_initializer': 'orthogonal', 'bias_initializer': 'zeros', 'unit_forget_bias': True}
    """
    parse_version(keras_version)
    keys = {
        "Embedding": ("embeddings_initializer",),
        "SimpleRNN": ("kernel_initializer", "recurrent_initializer", "bias_initializer"),
        "GRU": ("kernel_initializer", "recurrent_initializer", "bias_initializer"),
        "LSTM": ("kernel_initializer", "recurrent_initializer", "bias_initializer",
                 "unit_forget_bias"),
        "BatchNormalization": ("gamma_initializer", "beta_initializer",
                               "moving_mean_initializer", "moving_variance_initializer"),
        "LayerNormalization": ("gamma_initializer", "beta_initializer"),
        "GroupNormalization": ("gamma_initializer", "beta_initializer"),
        "PReLU": ("alpha_initializer",),
    }.get(keras_layer)
    if keras_layer.startswith(("DepthwiseConv", "SeparableConv")):
        keys = ("depthwise_initializer", "bias_initializer")
        if keras_layer.startswith("Separable"):
            keys = ("depthwise_initializer", "pointwise_initializer", "bias_initializer")
    if keys is None:
        keys = ("kernel_initializer", "bias_initializer")
    return {k: _DEFAULTS[k] for k in keys}


def gru_reset_after(keras_version: VersionLike = None) -> bool:
    """Whether Keras's GRU default is ``reset_after=True`` (Keras 3 and tf.keras >= 2.3)."""
    v = parse_version(keras_version)
    return v.major == 3 or (v.major == 2 and v.tf and v.at_least(2, 3))


# -- planning (pure: validates, writes nothing) -------------------------------------------
@dataclass(frozen=True)
class _Fill:
    tensor: torch.Tensor
    init: Initializer
    layout: Layout
    zero_rows: tuple[int, ...] = ()  # Embedding padding_idx rows, zeroed as torch does


@dataclass(frozen=True)
class _RnnBias:
    bias_ih: torch.Tensor
    bias_hh: torch.Tensor
    init: Initializer | None
    forget: bool
    hidden: int
    gru: bool
    reset_after: bool


_Action = _Fill | _RnnBias


def _walk(module: nn.Module, recurse: bool) -> Iterator[tuple[str, nn.Module]]:
    if not recurse:
        yield "", module
        return
    claimed: set[str] = set()
    for prefix, m in module.named_modules():
        if prefix in claimed:
            continue
        claimed.update(f"{prefix}.{c}" if prefix else c for c in claimed_children(m))
        yield prefix, m


def _tensor(module: nn.Module, name: str) -> torch.Tensor:
    obj: Any = module
    for part in name.split("."):
        obj = getattr(obj, part)
    assert isinstance(obj, torch.Tensor)
    return obj


def _qual(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _row(name: str, spec: ParamSpec, init: Initializer, layout: Layout,
         resolved: Resolved | tuple[Resolved, ...], note: str = "") -> ReportRow:
    first = resolved[0] if isinstance(resolved, tuple) else resolved
    if isinstance(resolved, tuple):
        note = f"{len(resolved)} Keras weights, each with its own fans" + (f"; {note}" if note else "")
    return ReportRow(name, spec.keras_layer, spec.role, init.name, layout_label(layout),
                     first.keras_shape, first.fan_in, first.fan_out,
                     first.distribution.formula(), note)


def _plan_module(
    prefix: str, module: nn.Module, inits: dict[str, Initializer], forget: bool | None,
    version: KerasVersion,
) -> tuple[list[_Action], list[ReportRow], set[str]]:
    actions: list[_Action] = []
    rows: list[ReportRow] = []
    used: set[str] = set()
    specs = {p.name: p for p in module_params(module)}
    for spec in specs.values():
        if spec.keras_layer in _RNN_LAYERS and spec.role in ("bias", "recurrent_bias"):
            if spec.role == "bias":
                _plan_rnn_bias(prefix, module, spec, specs, inits, forget, version,
                               actions, rows, used)
            continue
        init = inits.get(spec.keyword)
        if init is None:
            continue
        tensor = _tensor(module, spec.name)
        resolved = init.describe(tuple(tensor.shape), layout=spec.layout)
        pad = getattr(module, "padding_idx", None) if spec.role == "embeddings" else None
        zero_rows = () if pad is None else (int(pad),)
        note = f"padding_idx row {pad} zeroed as torch does" if zero_rows else ""
        actions.append(_Fill(tensor, init, spec.layout, zero_rows))
        rows.append(_row(_qual(prefix, spec.name), spec, init, spec.layout, resolved, note))
        used.add(spec.keyword)
    return actions, rows, used


def _plan_rnn_bias(
    prefix: str, module: nn.Module, spec: ParamSpec, specs: dict[str, ParamSpec],
    inits: dict[str, Initializer], forget: bool | None, version: KerasVersion,
    actions: list[_Action], rows: list[ReportRow], used: set[str],
) -> None:
    init = inits.get("bias_initializer")
    lstm, gru = spec.keras_layer == "LSTM", spec.keras_layer == "GRU"
    use_forget = lstm and (forget if forget is not None else init is not None)
    if lstm and forget is not None:
        used.add("unit_forget_bias")
    if init is None and not use_forget:
        return
    hh_name = spec.name.replace("bias_ih", "bias_hh")
    hh_spec = specs[hh_name]
    bias_ih, bias_hh = _tensor(module, spec.name), _tensor(module, hh_name)
    hidden = int(module.hidden_size)  # type: ignore[arg-type]
    reset_after = gru and gru_reset_after(version)
    actions.append(_RnnBias(bias_ih, bias_hh, init, use_forget, hidden, gru, reset_after))
    if init is not None:
        used.add("bias_initializer")
    n = int(bias_ih.shape[0])
    layout: Layout = GRU() if gru else _KERAS
    forget_note = "forget slice [H:2H] = 1 (unit_forget_bias)" if use_forget else ""
    if init is None:  # unit_forget_bias alone: only the forget slices are written
        ones, zeros = get("ones"), get("zeros")
        rows.append(_row(_qual(prefix, spec.name), spec, ones, layout, ones.describe((n,)),
                         "only the forget slice [H:2H] = 1 (unit_forget_bias)"))
        rows.append(_row(_qual(prefix, hh_name), hh_spec, zeros, layout, zeros.describe((n,)),
                         "only the forget slice [H:2H] = 0"))
        return
    if reset_after:
        resolved = init.describe((2, n), layout=_KERAS)
        rows.append(_row(_qual(prefix, spec.name), spec, init, layout, resolved,
                         "row 0 (input bias) of Keras's (2, 3H) bias"))
        rows.append(_row(_qual(prefix, hh_name), hh_spec, init, layout, resolved,
                         "row 1 (recurrent bias) of Keras's (2, 3H) bias"))
        return
    resolved = init.describe((n,), layout=_KERAS)
    zeros = get("zeros")
    rows.append(_row(_qual(prefix, spec.name), spec, init, layout, resolved,
                     "; ".join(filter(None, ["Keras's single bias", forget_note]))))
    rows.append(_row(_qual(prefix, hh_name), hh_spec, zeros, layout, zeros.describe((n,)),
                     "zeros: bias_ih + bias_hh = Keras's bias"))


def resolve_keywords(
    keywords: dict[str, object], version: VersionLike, seed: int | None, rng: str,
) -> tuple[dict[str, Initializer], bool | None]:
    """Validate Keras keywords and resolve their identifiers (None = not given).

    Returns:
        (keyword -> Initializer, unit_forget_bias or None).
    """
    forget: bool | None = None
    inits: dict[str, Initializer] = {}
    for key, value in keywords.items():
        if key not in KEYWORDS:
            hint = suggest(key, KEYWORDS)
            extra = f" Did you mean {hint!r}?" if hint else ""
            raise ModuleKeywordError(
                f"Unknown Keras initializer keyword {key!r}.{extra} Valid keywords: "
                f"{format_choices(KEYWORDS)}.")
        if value is None:
            continue
        if key == "unit_forget_bias":
            if not isinstance(value, bool):
                raise ModuleKeywordError(
                    f"`unit_forget_bias` must be True or False. Received: {value!r}.")
            forget = value
            continue
        base = get(value, keras_version=version)
        use_seed = seed if seed is not None and base.spec.is_random else None
        inits[key] = get(base, keras_version=version, seed=use_seed, rng=rng)
    return inits, forget


def _unmatched(keywords: set[str], model: nn.Module, available: set[str]) -> None:
    if not keywords:
        return
    listed = format_choices(available) if available else "none"
    raise ModuleKeywordError(
        f"{format_choices(keywords)} matches no weight of {type(model).__name__}. Its Keras "
        f"weights take: {listed}. (Keras depthwise convs take 'depthwise_initializer', "
        f"Embedding 'embeddings_initializer', normalization layers 'gamma_initializer'/"
        f"'beta_initializer'.)")


def _apply(actions: list[_Action], generator: torch.Generator | None) -> None:
    with torch.no_grad():
        for a in actions:
            if isinstance(a, _Fill):
                a.init(a.tensor, layout=a.layout, generator=generator)
                for r in a.zero_rows:
                    if not a.tensor.is_meta:
                        a.tensor[r].zero_()
            else:
                _apply_rnn_bias(a, generator)


def _apply_rnn_bias(a: _RnnBias, generator: torch.Generator | None) -> None:
    ih, hh, h = a.bias_ih, a.bias_hh, a.hidden
    if ih.is_meta or hh.is_meta:
        return
    if a.init is None:  # unit_forget_bias alone
        ih[h:2 * h] = 1.0
        hh[h:2 * h] = 0.0
        return
    rows = 2 if a.reset_after else 1
    keras = torch.empty((rows, ih.shape[0]), dtype=ih.dtype, device=ih.device)
    a.init(keras if a.reset_after else keras[0], layout=_KERAS, generator=generator)
    if a.forget:
        keras[0, h:2 * h] = 1.0
    to_torch = GRU().to_torch if a.gru else (lambda k, _s: k)
    ih.copy_(to_torch(keras[0], tuple(ih.shape)))
    if a.reset_after:
        hh.copy_(to_torch(keras[1], tuple(hh.shape)))
    else:
        hh.zero_()


def _skipped(prefix: str, module: nn.Module) -> list[SkippedParam]:
    return [SkippedParam(_qual(prefix, n), type(module).__name__, r)
            for n, r in skipped_params(module)]


def initialize(
    module: nn.Module,
    *,
    keras_version: VersionLike = None,
    generator: torch.Generator | None = None,
    rng: str = "torch",
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
        seed: seed every random initializer as Keras's ``seed=`` does: a seeded Keras
            initializer gives identical values for identical shapes (as a shared seeded
            initializer object does in Keras, and as ``Bidirectional`` does for its copies).
        recurse: visit submodules (else only ``module``'s own weights).
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
    version = parse_version(keras_version)
    inits, forget = resolve_keywords(initializers, keras_version, seed, rng)
    given = set(inits) | ({"unit_forget_bias"} if forget is not None else set())
    actions: list[_Action] = []
    rows: list[ReportRow] = []
    skipped: list[SkippedParam] = []
    used: set[str] = set()
    available: set[str] = set()
    for prefix, m in _walk(module, recurse):
        a, r, u = _plan_module(prefix, m, inits, forget, version)
        actions += a
        rows += r
        used |= u
        specs = module_params(m)
        available |= {p.keyword for p in specs}
        available |= {"unit_forget_bias" for p in specs if p.keras_layer == "LSTM"}
        skipped += _skipped(prefix, m)
    _unmatched(given - used, module, available)
    _apply(actions, generator)
    return InitReport(tuple(rows), tuple(skipped), version.label())


def keras_defaults_(
    model: nn.Module,
    *,
    keras_version: VersionLike = None,
    generator: torch.Generator | None = None,
    rng: str = "torch",
    seed: int | None = None,
) -> InitReport:
    """Re-initialize every supported submodule with its Keras layer's defaults (in place).

    Dense/Conv/ConvTranspose: glorot_uniform / zeros; DepthwiseConv: glorot_uniform / zeros;
    Embedding: RandomUniform(-0.05, 0.05); SimpleRNN/LSTM/GRU: glorot_uniform / orthogonal /
    zeros (LSTM forget bias 1); MultiHeadAttention: glorot_uniform / zeros with the version's
    fans; BatchNormalization: gamma ones, beta zeros, moving mean zeros, moving variance ones;
    LayerNormalization/GroupNormalization: ones / zeros; PReLU: alpha zeros.

    Args:
        model: the torch model.
        keras_version: Keras semantics to follow (default: the latest Keras 3).
        generator: torch generator for every draw.
        rng: ``"torch"``, or a seed-faithful stream (needs ``seed``).
        seed: reproducible defaults: the i-th supported module (in ``named_modules()`` order)
            gets Keras defaults seeded with ``seed + i`` (a Keras layer built with seeded
            initializers). ``generator=`` wins over it.

    Returns:
        An :class:`InitReport`; ``report.skipped`` lists parameters of unknown modules.

    Example:
        >>> import torch, kerasinit
        >>> model = torch.nn.Sequential(torch.nn.Embedding(1000, 64), torch.nn.Bilinear(64, 64, 8))
        >>> report = kerasinit.keras_defaults_(model)
        >>> report["0.weight"].distribution, [s.name for s in report.skipped]
        ('U[-0.05, 0.05)', ['1.weight', '1.bias'])
    """
    version = parse_version(keras_version)
    actions: list[_Action] = []
    rows: list[ReportRow] = []
    skipped: list[SkippedParam] = []
    index = 0
    for prefix, m in _walk(model, True):
        specs = module_params(m)
        skipped += _skipped(prefix, m)
        if not specs:
            continue
        defaults: dict[str, object] = {}
        for layer in dict.fromkeys(p.keras_layer for p in specs):
            defaults.update(keras_defaults(layer, version))
        defaults = {k: v for k, v in defaults.items()
                    if k in {p.keyword for p in specs} or k == "unit_forget_bias"}
        module_seed = None if seed is None else seed + index
        inits, forget = resolve_keywords(defaults, version, module_seed, rng)
        a, r, _ = _plan_module(prefix, m, inits, forget, version)
        actions += a
        rows += r
        index += 1
    _apply(actions, generator)
    return InitReport(tuple(rows), tuple(skipped), version.label())
