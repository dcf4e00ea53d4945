"""What differs between paired layers, and settings that differ without showing.

Two checks of :func:`kerasinit.porting.verify` beyond each module's own output:

* **Between paired layers.** The torch model runs once more with every paired module's output
  replaced by its Keras layer's output (moved to torch's layout). A layer whose input still
  differs from Keras's input then differs because of the weightless operations between it and
  the paired layers feeding it (pooling, padding, activations, a flatten), which the pairing
  does not see. They are named from the Keras graph with what is known to differ: TF's
  ``padding="same"`` pooling with stride > 1 pads more at the end (torch pads both sides),
  ``AveragePooling(padding="same")`` leaves the padding out of the average (torch's
  ``avg_pool2d`` counts it unless ``count_include_pad=False``), an asymmetric ``ZeroPadding``.
* **Settings.** Strides, dilation and normalization eps of every pair, compared whether or not
  the outputs differ: ResNet50's BatchNorm eps 1.001e-5 against torch's 1e-5 stays far under
  float32 tolerance and is still a difference of the port.

Example:
    >>> from torch import nn
    >>> class BN:  # a stand-in for a Keras layer: only get_config() is read
    ...     def get_config(self):
    ...         return {"epsilon": 1.001e-5}
    >>> settings(BN(), nn.BatchNorm2d(4))
    ['normalization eps: torch 1e-05, Keras 1.001e-05']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from kerasinit.porting.verify_causes import relative
from kerasinit.porting.verify_layers import CHANNELS_FIRST, activation, folded_bias, to_keras

__all__ = ["between", "describe", "forced_inputs", "gap_cause", "replacement", "settings"]


def _pair_ints(value: object, n: int) -> tuple[int, ...] | None:
    if isinstance(value, int):
        return (value,) * n
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return tuple(int(v) for v in value)
    return None


def settings(layer: Any, module: nn.Module) -> list[str]:
    """Strides, dilation and eps that differ between a Keras layer and its torch module."""
    cfg = layer.get_config() if hasattr(layer, "get_config") else {}
    out = []
    conv = getattr(module, "pointwise", None) if hasattr(module, "pointwise") else module
    depthwise = getattr(module, "conv1", None)
    if isinstance(depthwise, nn.modules.conv._ConvNd):  # a separable pair: the strides sit there
        conv = depthwise
    if isinstance(conv, nn.modules.conv._ConvNd):
        n = len(conv.kernel_size)
        for key, attr in (("strides", "stride"), ("dilation_rate", "dilation")):
            keras_value = _pair_ints(cfg.get(key), n)
            torch_value = tuple(getattr(conv, attr))
            if keras_value is not None and keras_value != torch_value:
                out.append(f"{attr}: Keras {key}={keras_value}, torch {attr}={torch_value}")
    keras_eps = cfg.get("epsilon")
    torch_eps = getattr(module, "eps", None)
    if isinstance(keras_eps, (int, float)) and isinstance(torch_eps, float) and \
            float(keras_eps) != torch_eps:
        out.append(f"normalization eps: torch {torch_eps:g}, Keras {float(keras_eps):g}")
    return out


def replacement(layer: Any, module: nn.Module, keras_out: np.ndarray, torch_out: Any
                ) -> torch.Tensor | None:
    """Keras's output of ``layer`` as ``module`` would return it (torch layout, a folded bias
    taken off), or None when it cannot be (a fused activation, another shape, a tuple)."""
    if not isinstance(torch_out, torch.Tensor) or activation(layer) != "linear":
        return None
    candidates = [np.moveaxis(keras_out, -1, 1)] if keras_out.ndim >= 3 else []
    candidates.append(keras_out)
    if not (isinstance(module, CHANNELS_FIRST) or hasattr(module, "pointwise")):
        candidates.reverse()
    for arr in candidates:
        if tuple(arr.shape) == tuple(torch_out.shape):
            value = torch.from_numpy(np.ascontiguousarray(arr)).to(torch_out.dtype)
            bias = folded_bias(layer, module)
            if bias is not None:
                value = value - bias.reshape(-1, *([1] * (value.dim() - 2)))
            return value
    return None


def forced_inputs(model: nn.Module, inputs: Sequence[torch.Tensor], modules: list[nn.Module],
                  values: list[torch.Tensor | None], takers: list[nn.Module]
                  ) -> dict[int, tuple[Any, ...]]:
    """The input of every ``takers[i]`` (its first call) when each ``modules[i]``'s first call
    returns ``values[i]`` (``takers[i]`` is ``modules[i]``, or the container of a separable
    pair whose pointwise conv gives the output)."""
    captured: dict[int, tuple[Any, ...]] = {}
    swapped: set[int] = set()

    def take(i: int) -> Callable[..., None]:
        def record(_module: nn.Module, args: tuple[Any, ...]) -> None:
            if i not in captured:
                captured[i] = tuple(a.detach().clone() if isinstance(a, torch.Tensor) else a
                                    for a in args)
        return record

    def swap(i: int) -> Callable[..., Any]:
        def force(_module: nn.Module, _args: tuple[Any, ...], out: Any) -> Any:
            value = values[i]
            if i in swapped or value is None or not isinstance(out, torch.Tensor) or \
                    out.shape != value.shape:
                return None
            swapped.add(i)
            return value.clone()
        return force

    hooks = [m.register_forward_pre_hook(take(i)) for i, m in enumerate(takers)]
    hooks += [m.register_forward_hook(swap(i)) for i, m in enumerate(modules)]
    try:
        with torch.no_grad():
            model(*inputs)
    except Exception:  # a forward that fails on forced values tells nothing
        return {}
    finally:
        for h in hooks:
            h.remove()
    return captured


def _inputs(op: Any, node_index: int = 0) -> list[Any]:
    nodes = getattr(op, "_inbound_nodes", None) or []
    if node_index >= len(nodes):
        return []
    found = getattr(nodes[node_index], "input_tensors", None)
    if found is None:
        return []
    return list(found) if isinstance(found, (list, tuple)) else [found]  # tf_keras: one tensor


def between(layer: Any, paired: set[str], limit: int = 64) -> tuple[list[Any], set[str]]:
    """The weightless Keras layers between ``layer`` and the paired layers feeding it (nearest
    first), and the names of those paired layers."""
    chain: list[Any] = []
    sources: set[str] = set()
    seen: set[int] = set()
    stack = _inputs(layer)
    while stack and len(chain) < limit:
        history = getattr(stack.pop(0), "_keras_history", None)
        op = getattr(history, "operation", getattr(history, "layer", None))
        if op is None or id(op) in seen:
            continue
        seen.add(id(op))
        if getattr(op, "name", None) in paired:
            sources.add(op.name)
            continue
        if type(op).__name__ == "InputLayer":
            continue
        chain.append(op)
        stack += _inputs(op, int(getattr(history, "node_index", 0)))
    return chain, sources


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def describe(op: Any) -> tuple[str, bool]:
    """(a Keras weightless layer in words, whether it is known to differ from torch's usual
    form)."""
    cls = type(op).__name__
    cfg = op.get_config() if hasattr(op, "get_config") else {}
    name = f"{op.name} ({cls})"
    if "Pooling" in cls and "Global" not in cls and cfg.get("padding") == "same":
        pool = _pair_ints(cfg.get("pool_size"), 2) or ()
        strides = _pair_ints(cfg.get("strides"), len(pool)) or pool
        shape = tuple(getattr(getattr(op, "input", None), "shape", ()) or ())[1:-1]
        pads = [_same_pads(int(n), k, s) for n, k, s in zip(shape, pool, strides, strict=False)
                if n is not None]
        if cls.startswith("Average"):
            return (f"{name} with padding='same' leaves the padding out of the average; torch's "
                    f"avg_pool counts it unless count_include_pad=False", True)
        if any(a != b for a, b in pads):
            text = ", ".join(f"({a}, {b})" for a, b in pads)
            return (f"{name} with padding='same', pool {tuple(pool)}, strides {tuple(strides)} "
                    f"on {'x'.join(str(n) for n in shape)} pads {text} (before, after; -inf) as "
                    f"TF does; torch's MaxPool pads both sides equally", True)
    if cls.startswith("ZeroPadding"):
        pad = cfg.get("padding")
        flat = [tuple(p) for p in pad] if isinstance(pad, (list, tuple)) and pad and \
            isinstance(pad[0], (list, tuple)) else []
        if any(len(p) == 2 and p[0] != p[1] for p in flat):
            return f"{name} pads {flat} (before, after): asymmetric", True
    if cls in ("Flatten", "Reshape"):
        return f"{name} (Keras flattens channels-last)", True
    if cls == "Activation" or cls.endswith(("ReLU", "ELU")) or cls == "Softmax":
        act = cfg.get("activation", cls)
        return f"{name} {act}", False
    return name, False


def gap_cause(torch_in: Any, keras_ins: Sequence[Any], module: nn.Module, chain: list[Any],
              tol: float) -> str:
    """Why the (forced) torch input of a layer differs from Keras's, or ``""``."""
    in_module = module if isinstance(module, CHANNELS_FIRST) or hasattr(module, "pointwise") \
        else nn.Identity()
    rel = None
    for keras_in in keras_ins:
        if not isinstance(keras_in, np.ndarray):
            continue
        mine = to_keras(torch_in, keras_in.shape, in_module)[0]
        if mine is not None:
            rel = relative(mine, keras_in)[1]
            break
    if rel is None or rel <= tol:
        return ""
    described = [describe(op) for op in reversed(chain)]
    known = [text for text, flagged in described if flagged]
    listed = known or [text for text, _ in described] or ["none in the Keras graph"]
    return (f"the weightless operations before it differ (with every paired torch module "
            f"returning Keras's output, its input still differs by rel {rel:.3g}): "
            + "; ".join(listed))
