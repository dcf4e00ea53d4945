"""Hyperparameters that differ between a Keras layer and its torch module: ``plan.check(model)``.

Read from each Keras layer's own config (the applications override the defaults: MobileNetV2
BatchNorm momentum 0.999, ResNet50/DenseNet eps 1.001e-5, ConvNeXt LayerNorm eps 1e-6):

- BatchNorm ``epsilon`` and ``momentum`` (Keras keeps ``m`` of the old average, torch takes
  ``momentum`` of the new batch: torch momentum = ``1 - m``); LayerNorm / GroupNorm ``epsilon``,
  GroupNorm ``groups``;
- ``padding="same"`` with a stride > 1: TF pads ``total // 2`` before and the rest after, so
  one more at the end when the total is odd (odd kernel on an even input); torch pads
  symmetrically;
- ``"same"`` pooling: an average pool excludes the padding from the count
  (torch: ``count_include_pad=False``), a strided max pool pads at the end as above;
- GRU ``reset_after=False`` (torch has only the ``True`` form), RNN activations other than
  ``tanh`` / ``sigmoid`` (Keras 2's ``hard_sigmoid`` default).

Module attributes among them (``eps``, ``momentum``) are *settable*:
``plan.apply(model, hyperparameters=True)`` sets them and reports the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torch import nn

from kerasinit.porting.matching import keras_family
from kerasinit.porting.report import WIDTH, wrap_table

if TYPE_CHECKING:
    from kerasinit.porting.pairing import Pairing
    from kerasinit.porting.rows import PlanLayer, PlanView

__all__ = ["CheckReport", "Difference", "check_hyperparameters", "set_hyperparameters"]


@dataclass(frozen=True)
class Difference:
    """One hyperparameter that differs.

    Attributes:
        keras_layer: the Keras layer path.
        torch_module: the torch module path (``""`` when no module holds it).
        name: the hyperparameter (``"epsilon"``, ``"momentum"``, ``"padding"``, ...).
        keras: the Keras value.
        torch: the torch value (or what torch does).
        attribute: the torch attribute to set (``"eps"``), or ``""`` when not settable.
        value: the value to set it to (torch convention), when settable.
        advice: what to do.
    """

    keras_layer: str
    torch_module: str
    name: str
    keras: object
    torch: object
    attribute: str = ""
    value: object = None
    advice: str = ""

    @property
    def settable(self) -> bool:
        """True when ``apply(..., hyperparameters=True)`` can set it."""
        return bool(self.attribute)


@dataclass(frozen=True)
class CheckReport:
    """What :meth:`Plan.check <kerasinit.porting.plan.Plan.check>` found."""

    differences: tuple[Difference, ...]
    notes: tuple[str, ...] = ()

    @property
    def settable(self) -> tuple[Difference, ...]:
        """The differences ``hyperparameters=True`` sets."""
        return tuple(d for d in self.differences if d.settable)

    def __str__(self) -> str:
        head = (f"kerasinit check: {len(self.differences)} hyperparameters differ "
                f"({len(self.settable)} settable with apply(..., hyperparameters=True))")
        rows = [(d.keras_layer, d.torch_module or "-", d.name, _text(d.keras), _text(d.torch),
                 (f"set {d.attribute} = {_text(d.value)}" if d.settable else "") +
                 (("; " if d.settable and d.advice else "") + d.advice))
                for d in self.differences]
        lines = [head, "", *wrap_table(("Keras layer", "torch module", "what", "Keras", "torch",
                                        "fix"), rows, width=WIDTH)]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"differences": [dict(d.__dict__, settable=d.settable) for d in self.differences],
                "notes": list(self.notes)}


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _tuple(value: object) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return tuple(value)
    return (1,)


def _options(plan: PlanView, layer: PlanLayer) -> dict[str, Any]:
    for node in plan.graph:
        if node.path == layer.path:
            return {**dict(node.options), **layer.options}
    return dict(layer.options)


def _differs(a: float, b: float) -> bool:
    return not math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def _pair_differences(plan: PlanView, layer: PlanLayer, path: str, m: nn.Module) -> list[Difference]:
    opts = _options(plan, layer)
    fam = keras_family(layer.class_name)
    out: list[Difference] = []
    eps = opts.get("epsilon")
    torch_eps = getattr(m, "eps", None)
    if fam in ("BatchNormalization", "LayerNormalization", "GroupNormalization") and \
            isinstance(eps, (int, float)) and isinstance(torch_eps, float) and \
            _differs(float(eps), torch_eps):
        out.append(Difference(layer.path, path, "epsilon", float(eps), torch_eps, "eps",
                              float(eps)))
    momentum = opts.get("momentum")
    if fam == "BatchNormalization" and isinstance(momentum, (int, float)) and \
            isinstance(m, nn.modules.batchnorm._BatchNorm):
        want = 1.0 - float(momentum)
        if m.momentum is None or _differs(want, float(m.momentum)):
            out.append(Difference(layer.path, path, "momentum", float(momentum), m.momentum,
                                  "momentum", round(want, 12),
                                  "torch momentum = 1 - Keras momentum"))
    groups = opts.get("groups")
    if fam == "GroupNormalization" and isinstance(m, nn.GroupNorm) and groups != m.num_groups:
        out.append(Difference(layer.path, path, "groups", groups, m.num_groups,
                              advice="build nn.GroupNorm with the Keras group count"))
    if fam.startswith(("Conv", "DepthwiseConv", "SeparableConv")) and "Transpose" not in fam:
        strides = _tuple(opts.get("strides"))
        if opts.get("padding") == "same" and any(int(s) > 1 for s in strides):
            out.append(Difference(
                layer.path, path, "padding", f"same, strides {tuple(strides)}",
                f"padding={getattr(m, 'padding', '?')}",
                advice="TF pads total//2 before and the rest after (one more at the end for an "
                       "odd kernel on an even input): F.pad(x, (0, 1, 0, 1)) then padding=0"))
    torch_stride = getattr(m, "stride", None)
    if fam.startswith(("Conv", "DepthwiseConv")) and isinstance(torch_stride, tuple) and \
            "strides" in opts:
        keras_stride = _tuple(opts.get("strides"))
        if len(keras_stride) == 1:
            keras_stride = keras_stride * len(torch_stride)
        if keras_stride != torch_stride:
            out.append(Difference(layer.path, path, "strides", keras_stride, torch_stride,
                                  advice="a different architecture (e.g. ResNet v1 vs "
                                         "torchvision's v1.5); set the conv's stride to match"))
    if fam in ("GRU", "LSTM", "SimpleRNN"):
        if fam == "GRU" and opts.get("reset_after") is False:
            out.append(Difference(layer.path, path, "reset_after", False, True,
                                  advice="torch GRU applies the reset gate after the matmul; "
                                         "no torch form of reset_after=False"))
        for key, torch_value in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
            value = opts.get(key)
            if fam == "SimpleRNN" and key == "recurrent_activation":
                continue
            if isinstance(value, str) and value != torch_value and not (
                    fam == "SimpleRNN" and value == "relu"
                    and getattr(m, "nonlinearity", "") == "relu"):
                out.append(Difference(layer.path, path, key, value, torch_value,
                                      advice="torch's built-in RNNs fix this activation"))
    return out


def _pool_differences(plan: PlanView, model: nn.Module) -> tuple[list[Difference], list[str]]:
    out: list[Difference] = []
    notes: list[str] = []
    avg = [(p, m) for p, m in model.named_modules()
           if isinstance(m, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)) and m.count_include_pad
           and m.padding not in (0, (0,), (0, 0), (0, 0, 0))]
    for node in plan.graph:
        if node.option("padding") != "same" or "Pooling" not in node.class_name:
            continue
        if node.class_name.startswith("Average"):
            torch_side = ", ".join(p for p, _ in avg) or ""
            out.append(Difference(
                node.path, torch_side, "padding", "same (padding excluded from the average)",
                "count_include_pad=True" if avg else "see your forward",
                advice="use count_include_pad=False (also in F.avg_pool2d)"))
        elif any(int(s) > 1 for s in _tuple(node.option("strides"))):
            notes.append(f"{node.path} ({node.class_name}, 'same', strides "
                         f"{node.option('strides')}): TF pads -inf at the end on even inputs; a "
                         f"symmetric torch padding differs there (pad (0, 1) with -inf instead)")
    return out, notes


def check_hyperparameters(plan: PlanView, pairing: Pairing, model: nn.Module) -> CheckReport:
    """The :class:`CheckReport` for the pairs of ``pairing`` and the model's pooling layers."""
    diffs: list[Difference] = []
    for p in pairing.pairs:
        for layer in p.keras:
            diffs += _pair_differences(plan, layer, p.unit.path, p.unit.module)
    pools, notes = _pool_differences(plan, model)
    return CheckReport(tuple(diffs + pools), tuple(notes))


def set_hyperparameters(plan: PlanView, pairing: Pairing, model: nn.Module) -> tuple[str, ...]:
    """Set the settable differences on the modules; notes on what was set and what was not."""
    report = check_hyperparameters(plan, pairing, model)
    notes = []
    modules = {p.unit.path: p.unit.module for p in pairing.pairs}
    for d in report.differences:
        if d.settable and d.torch_module in modules:
            setattr(modules[d.torch_module], d.attribute, d.value)
            notes.append(f"set {d.torch_module}.{d.attribute} = {_text(d.value)} (Keras "
                         f"{d.keras_layer} {d.name} {_text(d.keras)})")
        else:
            notes.append(f"not settable: {d.keras_layer} {d.name} (Keras {_text(d.keras)}, torch "
                         f"{_text(d.torch)}){': ' + d.advice if d.advice else ''}")
    return tuple(notes) + report.notes
