"""EinsumDense and MultiHeadAttention weights: kernel shapes, einsum fan axes and bias shapes.

Keras >= 3.15 computes VarianceScaling fans of these kernels from the einsum axes (kernel axes
that appear in the output are fan_out, the others fan_in); older versions use the rank rule.
The plan records the axes; :func:`kerasinit.mappings.resolve.resolve` picks by version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kerasinit.porting.layerdefs import LayerCtx, WeightDef

__all__ = ["analyze_einsum", "dot_attention", "einsum_dense", "grouped_query_attention",
           "multi_head_attention"]

Shape = tuple[int, ...]
Dim = int | None
Axes = tuple[tuple[int, ...], tuple[int, ...]]


def _shape(*dims: Dim) -> Shape | None:
    return None if any(d is None for d in dims) else tuple(int(d) for d in dims)  # type: ignore[arg-type]


def multi_head_attention(ctx: LayerCtx) -> list[WeightDef]:
    h, d = int(ctx.get("num_heads")), int(ctx.get("key_dim"))
    dv = int(ctx.get("value_dim") or d)
    q = ctx.extra_shapes.get("query") or ctx.input_shape
    v = ctx.extra_shapes.get("value") or q
    k = ctx.extra_shapes.get("key") or v
    eq, ek, ev = (None if s is None else s[-1] for s in (q, k, v))
    out = ctx.get("output_shape")
    eo = eq if out is None else (out if isinstance(out, int) else (out[-1] if len(out) == 1 else None))
    kernel = ctx.weight("kernel", None).identifier
    bias = ctx.weight("bias", None).identifier
    proj_axes: Axes = ((0,), (1, 2))

    rows = []
    for name, e_in, width in (("query", eq, d), ("key", ek, d), ("value", ev, dv)):
        rows.append(WeightDef(f"{name}/kernel", "kernel", "kernel_initializer", kernel,
                              _shape(e_in, h, width), einsum_axes=proj_axes))
        if ctx.use_bias:
            rows.append(WeightDef(f"{name}/bias", "bias", "bias_initializer", bias, (h, width)))
    if ctx.get("use_gate"):  # Keras 3 gated attention: a query-side (Eq, h, dv) projection
        rows.append(WeightDef("gate/kernel", "kernel", "kernel_initializer", kernel,
                              _shape(eq, h, dv), einsum_axes=proj_axes))
        if ctx.use_bias:
            rows.append(WeightDef("gate/bias", "bias", "bias_initializer", bias, (h, dv)))
    return rows + _output_rows(ctx, kernel, bias, h, dv, eo)


def _output_rows(ctx: LayerCtx, kernel: object, bias: object, heads: int, head_dim: int,
                 out_dim: Dim) -> list[WeightDef]:
    """The ``attention_output`` EinsumDense of an attention layer: kernel (heads, head_dim, E)
    with fans over (heads, head_dim) -> E, and a bias (E,) when the layer uses biases."""
    rows = [WeightDef("attention_output/kernel", "kernel", "kernel_initializer", kernel,
                      _shape(heads, head_dim, out_dim), einsum_axes=((0, 1), (2,)))]
    if ctx.use_bias:
        rows.append(WeightDef("attention_output/bias", "bias", "bias_initializer", bias,
                              _shape(out_dim)))
    return rows


def grouped_query_attention(ctx: LayerCtx) -> list[WeightDef]:
    """``GroupedQueryAttention`` (``keras.layers.GroupQueryAttention``): query/key/(gate)/value/attention_output EinsumDense sublayers;
    query and gate (Eq, Hq, d), key and value (E, Hkv, d), output (Hq, d, Eq)."""
    hq, hkv = int(ctx.get("num_query_heads")), int(ctx.get("num_key_value_heads"))
    d = int(ctx.get("head_dim"))
    q = ctx.extra_shapes.get("query") or ctx.input_shape
    v = ctx.extra_shapes.get("value") or q
    k = ctx.extra_shapes.get("key") or v
    eq, ek, ev = (None if s is None else s[-1] for s in (q, k, v))
    kernel = ctx.weight("kernel", None).identifier
    bias = ctx.weight("bias", None).identifier
    proj_axes: Axes = ((0,), (1, 2))
    parts = [("query", eq, hq), ("key", ek, hkv)]
    if ctx.get("use_gate"):
        parts.append(("gate", eq, hq))
    parts.append(("value", ev, hkv))
    rows = []
    for name, e_in, heads in parts:
        rows.append(WeightDef(f"{name}/kernel", "kernel", "kernel_initializer", kernel,
                              _shape(e_in, heads, d), einsum_axes=proj_axes))
        if ctx.use_bias:
            rows.append(WeightDef(f"{name}/bias", "bias", "bias_initializer", bias, (heads, d)))
    return rows + _output_rows(ctx, kernel, bias, hq, d, eq)


def einsum_dense(ctx: LayerCtx) -> list[WeightDef]:
    equation = str(ctx.get("equation", default=""))
    out = ctx.get("output_shape")
    out_shape = [out] if isinstance(out, int) else list(out or [])

    kernel_shape, axes, bias_shape = analyze_einsum(equation, ctx.input_shape, out_shape,
                                                     ctx.get("bias_axes"))
    rows = [ctx.weight("kernel", kernel_shape, einsum_axes=axes)]
    if ctx.get("bias_axes"):
        rows.append(ctx.weight("bias", bias_shape))
    return rows


def analyze_einsum(
    equation: str, input_shape: Sequence[Dim] | None, output_shape: list[Any], bias_axes: object
) -> tuple[Shape | None, Axes | None, Shape | None]:
    """Kernel shape, einsum axes and bias shape of ``EinsumDense`` (no ellipsis, or ``...``)."""
    try:
        lhs, out_spec = equation.replace(" ", "").split("->")
        in_spec, w_spec = lhs.split(",")
    except ValueError:
        return None, None, None
    axes: Axes = (tuple(i for i, c in enumerate(w_spec) if c not in out_spec),
                  tuple(i for i, c in enumerate(w_spec) if c in out_spec))
    if input_shape is None or "..." in w_spec:
        return None, axes, None
    in_dims = _align(in_spec, list(input_shape))
    out_dims = _align(out_spec, [input_shape[0] if input_shape else None, *output_shape])
    if in_dims is None or out_dims is None:
        return None, axes, None
    kernel = _shape(*(in_dims.get(c, out_dims.get(c)) for c in w_spec))
    bias: Shape | None = None
    if isinstance(bias_axes, str) and bias_axes:
        first = min(out_spec.find(c) for c in bias_axes)
        bias = _shape(*(out_dims.get(c) if c in bias_axes else 1 for c in out_spec[first:]))
    return kernel, axes, bias


def _align(spec: str, dims: list[Any]) -> dict[str, Dim] | None:
    if "..." in spec:
        left, right = spec.split("...")
        if len(left) + len(right) > len(dims):
            return None
        pairs = list(zip(left, dims[: len(left)], strict=False))
        if right:
            pairs += list(zip(right, dims[-len(right):], strict=False))
    else:
        if len(spec) != len(dims):
            return None
        pairs = list(zip(spec, dims, strict=True))
    return {c: (int(d) if isinstance(d, int) else None) for c, d in pairs}


def dot_attention(ctx: LayerCtx) -> list[WeightDef]:
    """``Attention``: scalar ``scale`` (use_scale) and ``concat_score_weight`` (score_mode
    'concat'), both initialized to ones by the layer (no initializer keyword)."""

    rows = []
    if ctx.get("use_scale"):
        rows.append(ctx.weight("scale", ()))
    if ctx.get("score_mode") == "concat":
        rows.append(ctx.weight("concat_score_weight", ()))
    return rows
