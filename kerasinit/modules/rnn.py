"""RNN biases: Keras's single bias (or GRU's (2, 3H) bias) on torch's ``bias_ih`` + ``bias_hh``.

* SimpleRNN / LSTM (and GRU with ``reset_after=False``): the Keras bias goes to ``bias_ih`` and
  ``bias_hh`` is zero, so the sum the cell uses is exactly Keras's bias. LSTM
  ``unit_forget_bias`` replaces the forget slice ``[H:2H]`` with exactly 1, and (as Keras's
  LSTM does) samples the rest by two initializer calls, on ``(H,)`` and ``(2H,)``: their fans
  are those shapes', and a seeded initializer restarts its seed for each.
* GRU ``reset_after=True``: row 0 -> ``bias_ih``, row 1 -> ``bias_hh``, gates z,r,h -> r,z,n.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from kerasinit.bridge.initializer import Initializer, RngName, get
from kerasinit.bridge.layouts import GRU, KerasLayout, Layout, Packed, TorchLayout
from kerasinit.mappings import layers as table
from kerasinit.mappings.resolve import Resolved
from kerasinit.mappings.versions import KerasVersion, VersionLike, parse_version
from kerasinit.modules.params import ParamSpec, find_tensor
from kerasinit.modules.report import ReportRow, make_row

__all__ = ["RNN_LAYERS", "RnnBias", "apply_rnn_bias", "gru_reset_after", "plan_rnn_bias",
           "qualified", "tensor_at", "version_layout"]

#: Keras recurrent layers with a torch counterpart (the table's ``builder="rnn"`` layers).
RNN_LAYERS = tuple(name for name, entry in table.LAYERS.items()
                   if entry.builder == "rnn" and entry.torch and name == entry.class_name)
_KERAS = KerasLayout()


def gru_reset_after(keras_version: VersionLike = None) -> bool:
    """Whether Keras's GRU default is ``reset_after=True`` (see
    :func:`kerasinit.mappings.layers.gru_reset_after`).

    Example:
        >>> gru_reset_after("3"), gru_reset_after("2.2.4-tf")
        (True, False)
    """
    return table.gru_reset_after(parse_version(keras_version))


def tensor_at(module: nn.Module, name: str) -> torch.Tensor:
    """The tensor at a dotted attribute path (``"out_proj.weight"``)."""
    tensor = find_tensor(module, name)
    assert tensor is not None, name
    return tensor


def qualified(prefix: str, name: str) -> str:
    """``prefix.name`` (or ``name`` at the root)."""
    return f"{prefix}.{name}" if prefix else name


@dataclass(frozen=True)
class RnnBias:
    """A planned write of one layer/direction's Keras bias into ``bias_ih`` / ``bias_hh``."""

    bias_ih: torch.Tensor
    bias_hh: torch.Tensor
    init: Initializer | None
    forget: bool
    hidden: int
    gru: bool
    reset_after: bool
    fans: tuple[float, float] | None = None  # a fan override (porting: the plan's fans)
    rng: RngName | None = None  # None: the initializer's own


def plan_rnn_bias(
    prefix: str, module: nn.Module, spec: ParamSpec, specs: dict[str, ParamSpec],
    inits: dict[str, Initializer], forget: bool | None, version: KerasVersion,
    actions: list[Any], rows: list[ReportRow], used: set[str],
) -> None:
    """Plan (validate, describe) the bias write of the layer/direction of ``spec``."""
    init = inits.get("bias_initializer")
    lstm, gru = spec.keras_layer.startswith("LSTM"), spec.keras_layer.startswith("GRU")
    use_forget = lstm and (forget if forget is not None else init is not None)
    if lstm and forget is not None:
        used.add("unit_forget_bias")
    if init is None and not use_forget:
        return
    hh_name = spec.name.replace("bias_ih", "bias_hh")
    hh_spec = specs[hh_name]
    bias_ih, bias_hh = tensor_at(module, spec.name), tensor_at(module, hh_name)
    hidden = int(module.hidden_size)  # type: ignore[arg-type]
    reset_after = gru and gru_reset_after(version)
    actions.append(RnnBias(bias_ih, bias_hh, init, use_forget, hidden, gru, reset_after))
    if init is not None:
        used.add("bias_initializer")
    n = int(bias_ih.shape[0])
    layout: Layout = GRU() if gru else _KERAS
    forget_note = "forget slice [H:2H] = 1 (unit_forget_bias)"
    if init is None:  # unit_forget_bias alone: only the forget slices are written
        ones, zeros = get("ones"), get("zeros")
        rows.append(make_row(qualified(prefix, spec.name), spec, ones, layout,
                             ones.describe((n,)),
                             "only the forget slice [H:2H] = 1 (unit_forget_bias)"))
        rows.append(make_row(qualified(prefix, hh_name), hh_spec, zeros, layout,
                             zeros.describe((n,)), "only the forget slice [H:2H] = 0"))
        return
    if reset_after:
        resolved = init.describe((2, n), layout=_KERAS)
        rows.append(make_row(qualified(prefix, spec.name), spec, init, layout, resolved,
                             "row 0 (input bias) of Keras's (2, 3H) bias"))
        rows.append(make_row(qualified(prefix, hh_name), hh_spec, init, layout, resolved,
                             "row 1 (recurrent bias) of Keras's (2, 3H) bias"))
        return
    zeros = get("zeros")
    if use_forget:  # Keras: concat([init((H,)), ones((H,)), init((2H,))]): two calls
        first = init.describe((n // 4,), layout=_KERAS)
        rest = init.describe((n // 2,), layout=_KERAS)
        assert isinstance(rest, Resolved)
        row = make_row(
            qualified(prefix, spec.name), spec, init, layout, first,
            f"Keras's bias; {forget_note}; [0:H] and [2H:4H] sampled as Keras does, by two "
            f"calls on ({n // 4},) and ({n // 2},) (fans {rest.fan_in:g}, {rest.fan_out:g} "
            f"for the second)")
        rows.append(dataclasses.replace(row, keras_shape=(n,)))
    else:
        rows.append(make_row(qualified(prefix, spec.name), spec, init, layout,
                             init.describe((n,), layout=_KERAS), "Keras's single bias"))
    rows.append(make_row(qualified(prefix, hh_name), hh_spec, zeros, layout,
                         zeros.describe((n,)), "zeros: bias_ih + bias_hh = Keras's bias"))


def apply_rnn_bias(a: RnnBias, generator: torch.Generator | None) -> None:
    """Write a planned RNN bias: the one writer of Keras's bias into ``bias_ih``/``bias_hh``."""
    with torch.no_grad():
        _write_rnn_bias(a, generator)


def _write_rnn_bias(a: RnnBias, generator: torch.Generator | None) -> None:
    ih, hh, h = a.bias_ih, a.bias_hh, a.hidden
    if ih.is_meta or hh.is_meta:
        return
    if a.init is None:  # unit_forget_bias alone
        ih[h:2 * h] = 1.0
        hh[h:2 * h] = 0.0
        return
    rows = 2 if a.reset_after else 1
    keras = torch.empty((rows, ih.shape[0]), dtype=ih.dtype, device=ih.device)
    if a.forget:  # as Keras's LSTM: concat([init((H,)), ones((H,)), init((2H,))])
        a.init(keras[0, :h], layout=_KERAS, generator=generator)
        keras[0, h:2 * h] = 1.0
        a.init(keras[0, 2 * h:], layout=_KERAS, generator=generator)
    else:
        a.init(keras if a.reset_after else keras[0], layout=_KERAS, fans=a.fans,
               generator=generator, rng=a.rng)
    to_torch = GRU().to_torch if a.gru else (lambda k, _s: k)
    ih.copy_(to_torch(keras[0], tuple(ih.shape)))
    if a.reset_after:
        hh.copy_(to_torch(keras[1], tuple(hh.shape)))
    else:
        hh.zero_()


def version_layout(spec: ParamSpec, version: KerasVersion) -> Layout:
    """Keras 1 LSTM/GRU kept one kernel per gate (``W_i``, ``U_i``, ...): fans, and the
    recurrent Orthogonal, apply per gate block, not to the fused Keras 2/3 matrix."""
    gates = table.gate_blocks(spec.keras_layer, version)
    if gates > 1 and spec.role in ("kernel", "recurrent_kernel"):
        return Packed((TorchLayout(),) * gates, name=f"keras1_{gates}_gates")
    return spec.layout
