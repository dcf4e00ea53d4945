"""One paired layer's comparison: the torch module's output in Keras's layout, the Keras
activation applied where Keras fuses it into the layer, a conv bias folded into the next BatchNorm
added back; and the same module re-run alone on Keras's own input for that layer, which finds
every layer that differs by itself (not only the first)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kerasinit.porting.matching import Pair
from kerasinit.porting.verify_causes import diagnose, relative
from kerasinit.porting.verify_report import LayerCheck

__all__ = ["ACTIVATIONS", "CHANNELS_FIRST", "activation", "alone", "compare", "folded_bias",
           "to_keras"]

CHANNELS_FIRST = (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm, nn.GroupNorm,
                   nn.PReLU, nn.modules.instancenorm._InstanceNorm)
_RNN_LAYERS = ("SimpleRNN", "LSTM", "GRU", "Bidirectional", "RNN", "ConvLSTM1D", "ConvLSTM2D",
               "ConvLSTM3D")
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda t: t, "relu": F.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "softmax": lambda t: torch.softmax(t, dim=-1), "gelu": F.gelu,
    "silu": F.silu, "swish": F.silu, "elu": F.elu, "selu": F.selu, "softplus": F.softplus,
    "exponential": torch.exp, "hard_sigmoid": lambda t: F.relu6(t + 3) / 6,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.2),
}



def _channels_first(module: nn.Module) -> bool:
    """Conv/norm modules, and separable containers (``.pointwise`` conv) output NC..."""
    return isinstance(module, CHANNELS_FIRST) or isinstance(
        getattr(module, "pointwise", None), nn.modules.conv._ConvNd)


def to_keras(value: Any, shape: tuple[int, ...], module: nn.Module,
             channels_first: bool = False) -> tuple[np.ndarray | None,
                                                                               str]:
    """A torch output in the Keras layout of ``shape`` (or None) and how it was moved."""
    note = ""
    if isinstance(module, nn.RNNBase) and isinstance(value, tuple):
        out, hidden = value
        h_n = hidden[0] if isinstance(hidden, tuple) else hidden
        if len(shape) == 2:
            value = torch.cat([h_n[-2], h_n[-1]], -1) if module.bidirectional else h_n[-1]
            note = "last state from h_n"
        else:
            value = out if module.batch_first else out.transpose(0, 1)
            note = "" if module.batch_first else "time-major -> batch-first"
    elif isinstance(module, nn.MultiheadAttention) and isinstance(value, tuple):
        value = value[0] if module.batch_first else value[0].transpose(0, 1)
    if isinstance(value, tuple):
        value = value[0]
    if not isinstance(value, torch.Tensor):
        return None, f"torch output is a {type(value).__name__}"
    arr = value.detach().cpu().numpy()
    if arr.ndim >= 3 and (channels_first or _channels_first(module)):  # NC... -> N...C
        moved = np.moveaxis(arr, 1, -1)
        if moved.shape == shape:
            return moved, "NC... -> N...C"
    if arr.shape == shape:
        return arr, note
    if arr.ndim >= 3:
        moved = np.moveaxis(arr, 1, -1)
        if moved.shape == shape:
            return moved, "NC... -> N...C"
    return None, f"torch shape {tuple(arr.shape)} vs Keras {shape}"


def folded_bias(layer: Any, module: nn.Module) -> torch.Tensor | None:
    """The Keras bias of a conv whose torch module has none (it was folded into a BatchNorm)."""
    bias = getattr(layer, "bias", None)
    if not isinstance(module, nn.modules.conv._ConvNd) or module.bias is not None or bias is None:
        return None
    return torch.from_numpy(np.asarray(bias)).to(module.weight.dtype)


def activation(layer: Any) -> str:
    """The activation a Keras layer applies to its output (RNN activations are internal)."""
    if type(layer).__name__ in _RNN_LAYERS:
        return "linear"
    act = layer.get_config().get("activation") if hasattr(layer, "get_config") else None
    return act if isinstance(act, str) else "linear"


def _converter(layer: Any, module: nn.Module, shape: tuple[int, ...]
               ) -> Callable[[Any], np.ndarray | None] | None:
    """torch output -> Keras layout, Keras activation applied, folded bias added back."""
    fn = ACTIVATIONS.get(activation(layer))
    if fn is None:
        return None
    folded = folded_bias(layer, module)

    def convert(v: Any) -> np.ndarray | None:
        if isinstance(v, torch.Tensor):
            if folded is not None:
                v = v + folded.reshape(-1, *([1] * (v.dim() - 2)))
            v = fn(v)
        return to_keras(v, shape, module)[0]

    return convert


def compare(pair: Pair, layer: Any, seen: tuple[tuple[Any, ...], Any] | None,
             keras_out: np.ndarray, keras_in: Any, tol: float, diagnose_it: bool
             ) -> tuple[LayerCheck, str]:
    """One paired layer's check, and the likely cause when it differs."""
    unit = pair.unit
    if seen is None:
        return LayerCheck(layer.name, unit.path, keras_out.shape, 0, 0, None,
                          "torch module was not called"), ""
    args, out = seen
    act = activation(layer)
    convert = _converter(layer, unit.module, keras_out.shape)
    if convert is None:
        return LayerCheck(layer.name, unit.path, keras_out.shape, 0, 0, None,
                          f"Keras activation {act!r} has no torch form here"), ""
    folded = folded_bias(layer, unit.module)
    value = convert(out)
    note = to_keras(out, keras_out.shape, unit.module)[1]
    if act != "linear":
        note = (note + "; " if note else "") + f"after Keras {act}"
    if folded is not None:
        note = (note + "; " if note else "") + "plus the Keras bias (folded into the next BN)"
    if value is None:
        shape_note = to_keras(out, keras_out.shape, unit.module)[1]
        return (LayerCheck(layer.name, unit.path, keras_out.shape, float("inf"), float("inf"),
                           False, shape_note), f"layout/shape mismatch: {shape_note}")
    diff, rel = relative(value, keras_out)
    check = LayerCheck(layer.name, unit.path, keras_out.shape, diff, rel, rel <= tol, note)
    if check.ok or not diagnose_it:
        return check, ""
    keras_in_arr = keras_in if isinstance(keras_in, np.ndarray) else None
    in_shape = keras_in_arr.shape if keras_in_arr is not None else ()
    in_module = unit.module if isinstance(unit.module, CHANNELS_FIRST) else nn.Identity()

    def convert_in(v: Any) -> np.ndarray | None:
        return to_keras(v, in_shape, in_module)[0]

    return check, diagnose(layer, unit.module, args, convert, convert_in, keras_in_arr,
                           keras_out, tol)


def _to_torch_input(keras_in: np.ndarray, like: torch.Tensor, module: nn.Module
                    ) -> torch.Tensor | None:
    """Keras's input of a layer arranged as the torch module's captured input ``like``."""
    moved = np.moveaxis(keras_in, -1, 1) if keras_in.ndim >= 3 else None
    candidates = [keras_in, moved, np.swapaxes(keras_in, 0, 1) if keras_in.ndim == 3 else None]
    if isinstance(module, CHANNELS_FIRST):
        candidates.insert(0, moved)
    for arr in candidates:
        if arr is not None and tuple(arr.shape) == tuple(like.shape):
            return torch.from_numpy(np.ascontiguousarray(arr)).to(like.dtype)
    return None


def alone(pair: Pair, layer: Any, seen: tuple[tuple[Any, ...], Any] | None,
          keras_out: np.ndarray, keras_ins: tuple[Any, ...], tol: float,
          shift: torch.Tensor | None = None) -> tuple[float | None, str]:
    """(rel of the torch module run on Keras's input for this layer, cause when it differs).

    ``keras_ins``: the layer's Keras input and, when a ZeroPadding layer made it, that padding
    layer's input (a torch conv pads inside). ``shift``: a conv bias folded into this
    BatchNorm, taken off Keras's input first.
    """
    if seen is None or "+" in pair.unit.path or hasattr(pair.unit.module, "pointwise"):
        return None, ""  # a separable pair: the hook saw the pointwise conv's input
    args, _ = seen
    if len(args) != 1 or not isinstance(args[0], torch.Tensor):
        return None, ""
    x = None
    for keras_in in keras_ins:
        if not isinstance(keras_in, np.ndarray):
            continue
        if shift is not None and shift.shape[-1:] == keras_in.shape[-1:]:
            keras_in = keras_in - shift.numpy()
        x = _to_torch_input(keras_in, args[0], pair.unit.module)
        if x is not None:
            break
    convert = _converter(layer, pair.unit.module, keras_out.shape)
    if x is None or convert is None:
        return None, ""
    with torch.no_grad():
        value = convert(pair.unit.module(x))
    if value is None:
        return None, ""
    rel = relative(value, keras_out)[1]
    if rel <= tol:
        return rel, ""
    return rel, diagnose(layer, pair.unit.module, (x,), convert, convert, None, keras_out, tol)
