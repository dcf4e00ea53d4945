"""Output shapes of common Keras layers, for configs that do not record per-layer input shapes.

Keras 3 and tf_keras write a ``build_config`` with each layer's input shape; Keras 1 and 2.0-2.2
files do not, so shapes are propagated from the model input through the layers listed here.
Anything not listed (or not derivable) gives None, and the weights that depend on it show "?".
Shapes include the batch axis (None).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Shape", "output_shape"]

Shape = tuple[int | None, ...]

_PASS = frozenset({
    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU", "Dropout",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Masking", "ActivityRegularization", "UnitNormalization",
    "Identity", "Rescaling", "BatchNormalization", "LayerNormalization", "GroupNormalization",
    "PReLU", "Normalization", "InputLayer", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Lambda", "Attention", "AdditiveAttention", "GroupedQueryAttention",
    "GroupQueryAttention",
    "RMSNormalization", "SpectralNormalization", "LayerScale", "PositionEmbedding",
})


def _tuple(v: object, n: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    return tuple(int(x) for x in v)  # type: ignore[attr-defined]


def _spatial(
    size: int | None, k: int, stride: int, pad: str, dilation: int = 1
) -> int | None:
    if size is None:
        return None
    eff = (k - 1) * dilation + 1
    if pad in ("same", "causal"):
        return -(-size // stride)
    if pad == "full":
        return (size + eff - 2) // stride + 1
    return max(0, (size - eff) // stride + 1)


def _channels_axis(cfg: Mapping[str, Any]) -> int:
    return 1 if cfg.get("data_format", cfg.get("dim_ordering")) in ("channels_first", "th") else -1


def _conv_like(cls: str, cfg: Mapping[str, Any], s: Shape, rank: int) -> Shape | None:
    if len(s) != rank + 2:
        return None
    cf = _channels_axis(cfg) == 1
    spatial = list(s[2:] if cf else s[1:-1])
    if "kernel_size" in cfg:
        k = _tuple(cfg["kernel_size"], rank)
    elif rank == 1:
        k = (int(cfg.get("filter_length", 1)),)
    elif rank == 2:
        k = (int(cfg.get("nb_row", 1)), int(cfg.get("nb_col", 1)))
    else:
        k = tuple(int(cfg.get(f"kernel_dim{i}", 1)) for i in (1, 2, 3))
    strides = _tuple(cfg.get("strides", cfg.get("subsample", cfg.get("subsample_length", 1))), rank)
    dil = _tuple(cfg.get("dilation_rate", cfg.get("atrous_rate", 1)), rank)
    pad = str(cfg.get("padding", cfg.get("border_mode", "valid")))
    if "Transpose" in cls or cls == "Deconvolution2D":
        new = [None if d is None else (d * st if pad == "same" else (d - 1) * st + kk)
               for d, kk, st in zip(spatial, k, strides, strict=True)]
    else:
        new = [_spatial(d, kk, st, pad, dl)
               for d, kk, st, dl in zip(spatial, k, strides, dil, strict=True)]
    cin = s[1] if cf else s[-1]
    if cls.startswith("Depthwise"):
        ch = None if cin is None else cin * int(cfg.get("depth_multiplier", 1))
    else:
        ch = cfg.get("filters", cfg.get("nb_filter"))
    return (s[0], ch, *new) if cf else (s[0], *new, ch)


def _pool(cfg: Mapping[str, Any], s: Shape, rank: int) -> Shape | None:
    if len(s) != rank + 2:
        return None
    cf = _channels_axis(cfg) == 1
    pool = _tuple(cfg.get("pool_size", cfg.get("pool_length", 2)), rank)
    strides_cfg = cfg.get("strides", cfg.get("stride"))
    strides = pool if strides_cfg is None else _tuple(strides_cfg, rank)
    pad = str(cfg.get("padding", cfg.get("border_mode", "valid")))
    spatial = list(s[2:] if cf else s[1:-1])
    new = [_spatial(d, p, st, pad) for d, p, st in zip(spatial, pool, strides, strict=True)]
    return (s[0], s[1], *new) if cf else (s[0], *new, s[-1])


def _pad_crop(cls: str, cfg: Mapping[str, Any], s: Shape, rank: int) -> Shape | None:
    if len(s) != rank + 2:
        return None
    cf = _channels_axis(cfg) == 1
    spatial = list(s[2:] if cf else s[1:-1])
    key = "padding" if cls.startswith("ZeroPadding") else "cropping"
    if cls.startswith("UpSampling"):
        size = _tuple(cfg.get("size", cfg.get("length", 2)), rank)
        new = [None if d is None else d * f for d, f in zip(spatial, size, strict=True)]
    else:
        raw = cfg.get(key, 1)
        pairs = [(raw, raw)] * rank if isinstance(raw, int) else [
            (p, p) if isinstance(p, int) else tuple(p) for p in raw]
        if len(pairs) != rank:
            if rank == 1 and len(pairs) == 2 and all(isinstance(p, int) for p in raw):
                pairs = [tuple(raw)]
            else:
                return None
        sign = 1 if key == "padding" else -1
        new = [None if d is None else d + sign * (a + b) for d, (a, b) in zip(spatial, pairs, strict=True)]
    return (s[0], s[1], *new) if cf else (s[0], *new, s[-1])


def _reshape(target: Sequence[int], s: Shape) -> Shape:
    dims = [int(d) for d in target]
    known = [d for d in s[1:]]
    if -1 in dims:
        if any(d is None for d in known):
            return (s[0], *(None if d == -1 else d for d in dims))
        total = math.prod(d for d in known if d is not None)
        rest = math.prod(d for d in dims if d != -1)
        dims = [total // rest if d == -1 else d for d in dims]
    return (s[0], *dims)


def _einsum(cfg: Mapping[str, Any], s: Shape) -> Shape | None:
    try:
        lhs, out_spec = str(cfg.get("equation", "")).replace(" ", "").split("->")
        in_spec = lhs.split(",")[0]
    except ValueError:
        return None
    raw = cfg.get("output_shape")
    out = [raw] if isinstance(raw, int) or raw is None else list(raw)
    if "..." in out_spec:
        if out_spec.startswith("...") and "..." not in in_spec[1:] and out:
            right = len(out_spec) - 3
            return (*s[: len(s) - right], *out[len(out) - right:]) if right else s
        return None
    if len(in_spec) != len(s) or len(out) != len(out_spec) - 1:
        return None
    in_dims = dict(zip(in_spec, s, strict=True))
    full = [s[0], *out]
    return tuple(in_dims.get(c) if d is None else d for c, d in zip(out_spec, full, strict=True))


def output_shape(cls: str, cfg: Mapping[str, Any], inputs: list[Shape | None]) -> Shape | None:
    """The output shape of layer ``cls`` for the given input shapes, or None if unknown.

    Example:
        >>> output_shape("Conv2D", {"filters": 8, "kernel_size": 3}, [(None, 32, 32, 3)])
        (None, 30, 30, 8)
    """
    if not inputs or inputs[0] is None:
        return None
    s = inputs[0]
    if cls in _PASS:
        return s
    found = re.search(r"(\d)D", cls)
    rank = int(found.group(1)) if found else None
    if cls in ("Dense", "TimeDistributedDense"):
        units = cfg.get("units", cfg.get("output_dim"))
        return (*s[:-1], units)
    if cls in ("Flatten",):
        rest = s[1:]
        return (s[0], None if any(d is None for d in rest) else math.prod(rest))  # type: ignore[arg-type]
    if cls == "Reshape":
        return _reshape(cfg.get("target_shape", ()), s)
    if cls == "Permute":
        return (s[0], *(s[int(d)] for d in cfg.get("dims", ())))
    if cls == "RepeatVector":
        return (s[0], cfg.get("n"), s[-1])
    if cls == "Embedding":
        return (*s, cfg.get("output_dim"))
    if cls in ("SimpleRNN", "LSTM", "GRU", "CuDNNLSTM", "CuDNNGRU"):
        units = cfg.get("units", cfg.get("output_dim"))
        return (s[0], s[1], units) if cfg.get("return_sequences") else (s[0], units)
    if rank is not None and ("Conv" in cls or cls.startswith("Deconvolution")) and "LSTM" not in cls:
        return _conv_like(cls, cfg, s, rank)
    if rank is not None and cls.startswith(("Global",)):
        ch = s[1] if _channels_axis(cfg) == 1 else s[-1]
        return (s[0], ch)
    if rank is not None and cls.startswith(("MaxPool", "AveragePool", "AvgPool")):
        return _pool(cfg, s, rank)
    if rank is not None and cls.startswith(("ZeroPadding", "Cropping", "UpSampling")):
        return _pad_crop(cls, cfg, s, rank)
    if cls in ("Concatenate", "Merge"):
        if cls == "Merge" and cfg.get("mode", "sum") != "concat":
            return s
        axis = int(cfg.get("axis", cfg.get("concat_axis", -1)))
        if any(i is None or len(i) != len(s) for i in inputs):
            return None
        dims = [i[axis] for i in inputs if i is not None]
        total = None if any(d is None for d in dims) else sum(d for d in dims if d is not None)
        out = list(s)
        out[axis] = total
        return tuple(out)
    if cls == "EinsumDense":
        return _einsum(cfg, s)
    if cls == "MultiHeadAttention":
        target = cfg.get("output_shape")
        if target is None:
            return s
        return (*s[:-1], target if isinstance(target, int) else target[-1])
    return None
