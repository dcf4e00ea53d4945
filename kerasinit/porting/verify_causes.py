"""Why a torch module's output differs from its Keras layer's: re-run the module with one change.

Given the first divergent pair (both inputs and outputs captured), each test changes one thing
the plan or the Keras config says can differ and re-runs the torch module on its own captured
input; the first change that makes it agree with Keras names the cause. Tests: the input
already differs (then the cause is a weightless operation before the layer: padding, pooling,
activation, a flatten order); normalization ``eps``; asymmetric padding (TF ``padding="same"``
with stride > 1, or ``ZeroPadding2D(((0, 1), (0, 1)))`` before a ``valid`` conv, pads more at
the end; torch pads both sides equally); a spatially flipped or transposed conv kernel; GRU gate
blocks left in Keras order (z, r, h instead of torch's r, z, n).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["diagnose", "relative"]

Convert = Callable[[Any], "np.ndarray | None"]


def relative(torch_value: np.ndarray, keras_value: np.ndarray) -> tuple[float, float]:
    """(max|Δ|, max|Δ| / max|Keras|); relative is max|Δ| when Keras is all zeros.

    Example:
        >>> relative(np.array([1.0, 2.5]), np.array([1.0, 2.0]))
        (0.5, 0.25)
    """
    diff = float(np.max(np.abs(torch_value.astype(np.float64) - keras_value)))
    ref = float(np.max(np.abs(keras_value)))
    return diff, diff / ref if ref > 0 else diff


def _agrees(value: np.ndarray | None, keras_out: np.ndarray, tol: float) -> bool:
    return value is not None and value.shape == keras_out.shape and \
        relative(value, keras_out)[1] <= tol


def _eps(keras_layer: Any, module: nn.Module, x: torch.Tensor, convert: Convert,
         keras_out: np.ndarray, tol: float) -> str | None:
    keras_eps = getattr(keras_layer, "epsilon", None)
    torch_eps = getattr(module, "eps", None)
    if keras_eps is None or torch_eps is None or float(keras_eps) == float(torch_eps):
        return None
    trial = copy.deepcopy(module)
    setattr(trial, "eps", float(keras_eps))  # noqa: B010
    with torch.no_grad():
        fixed = _agrees(convert(trial(x)), keras_out, tol)
    return (f"normalization eps: torch {torch_eps:g}, Keras {float(keras_eps):g}"
            + (" (re-running the torch module with Keras's eps agrees)" if fixed else ""))


def _conv_trials(module: nn.modules.conv._ConvNd, x: torch.Tensor
                 ) -> list[tuple[str, torch.Tensor]]:
    n = len(module.kernel_size)
    fn = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    w, b = module.weight, module.bias
    stride, dil, groups = module.stride, module.dilation, module.groups
    pad = module.padding if isinstance(module.padding, tuple) else (0,) * n
    out: list[tuple[str, torch.Tensor]] = []
    if all(isinstance(p, int) for p in pad):
        options = [[(p, p), (max(p - 1, 0), p), (p - 1, p + 1), (p, p + 1), (max(p - 1, 0), p + 1)]
                   for p in pad]
        for combo in itertools.product(*options):
            if all(a == c for a, c in combo) or any(a < 0 for a, _ in combo):
                continue
            flat = [v for a, c in reversed(combo) for v in (a, c)]
            text = ", ".join(f"({a}, {c})" for a, c in combo)
            out.append((f"padding: Keras pads {text} (before, after) per spatial axis -- TF "
                        f"padding='same' with stride > 1, or an asymmetric ZeroPadding -- while "
                        f"the torch module pads {tuple(pad)} on both sides",
                        fn(F.pad(x, flat), w, b, stride, 0, dil, groups)))
    spatial = tuple(range(2, 2 + n))
    out.append(("conv kernel flipped spatially (Keras and torch both correlate; no flip is "
                "needed)", fn(x, w.flip(spatial), b, stride, module.padding, dil, groups)))
    if n >= 2:
        out.append(("conv kernel spatial axes transposed (the (*k, in, out) -> (out, in, *k) "
                    "permutation was wrong)",
                    fn(x, w.transpose(2, 3), b, stride, module.padding, dil, groups)))
    return out


def _gru_trial(module: nn.GRU, args: tuple[Any, ...]) -> Any:
    trial = copy.deepcopy(module)
    with torch.no_grad():
        for name, p in trial.named_parameters():
            if name.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
                r, z, n = p.chunk(3, dim=0)
                p.copy_(torch.cat([z, r, n]))
        return trial(*args)


def diagnose(keras_layer: Any, module: nn.Module, args: tuple[Any, ...], convert: Convert,
             convert_in: Convert, keras_in: np.ndarray | None, keras_out: np.ndarray,
             tol: float) -> str:
    """The likely cause why ``module`` (run on ``args``) differs from ``keras_layer``."""
    x = args[0] if args else None
    if keras_in is not None and isinstance(x, torch.Tensor):
        mine = convert_in(x)
        if mine is not None and mine.shape == keras_in.shape:
            _, rel = relative(mine, keras_in)
            if rel > tol:
                same_values = np.allclose(np.sort(mine.reshape(mine.shape[0], -1), axis=1),
                                          np.sort(keras_in.reshape(keras_in.shape[0], -1), axis=1),
                                          rtol=tol, atol=tol * float(np.max(np.abs(keras_in))))
                if same_values:
                    return ("the layer's input holds Keras's values in another order: a "
                            "flatten/reshape order difference before this layer (Keras flattens "
                            "channels-last NHWC, torch channels-first NCHW)")
                return (f"the layer's input already differs (rel {rel:.3g}): the cause is a "
                        f"weightless operation before it (padding, pooling, an activation, a "
                        f"reshape) that the pairing does not compare")
        elif mine is not None and keras_in is not None and mine.shape != keras_in.shape:
            return (f"layout/shape mismatch at the input: torch {tuple(mine.shape)} vs Keras "
                    f"{tuple(keras_in.shape)} (padding or pooling before this layer?)")
    if not isinstance(x, torch.Tensor):
        return "the outputs differ; the torch module's input could not be re-run"
    found = _eps(keras_layer, module, x, convert, keras_out, tol)
    if found:
        return found
    with torch.no_grad():
        if isinstance(module, nn.modules.conv._ConvNd) and not module.transposed:
            for text, value in _conv_trials(module, x):
                if _agrees(convert(value), keras_out, tol):
                    return text + " (re-running the torch module with this change agrees)"
        if isinstance(module, nn.GRU) and _agrees(convert(_gru_trial(module, args)), keras_out,
                                                  tol):
            return ("GRU gate order: the torch GRU holds the blocks in Keras's order z, r, h; "
                    "torch expects r, z, n (swapping the first two blocks agrees)")
    cfg = keras_layer.get_config() if hasattr(keras_layer, "get_config") else {}
    hints = []
    if str(cfg.get("padding", "")) == "same" and any(s > 1 for s in _ints(cfg.get("strides"))):
        hints.append("Keras padding='same' with stride > 1 pads more at the end (TF rule)")
    if isinstance(module, nn.GRU) and cfg.get("reset_after") is False:
        hints.append("Keras GRU(reset_after=False) has no torch equivalent")
    act = cfg.get("activation")
    if isinstance(act, str) and act not in ("linear", "tanh", "sigmoid"):
        hints.append(f"the Keras layer applies activation {act!r} inside the layer")
    if not hints:
        hints.append("the weights or a hyperparameter of this module (no single change tried "
                     "here makes it agree)")
    return "; ".join(hints)


def _ints(value: object) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value if isinstance(v, int))
    return ()
