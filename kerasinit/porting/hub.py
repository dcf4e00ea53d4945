"""keras_hub's composite layers in a saved config: their sublayers, as a live model has them.

A functional model that uses keras_hub's ``TransformerEncoder`` or ``TransformerDecoder`` saves
only the constructor arguments of those layers; their weights live in sublayers that are built
from the input shape. :func:`expand` gives those sublayers (name, Keras class, config, input
shape) in the order a live layer tracks them, so a file read plans the same rows as a live one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["COMPOSITES", "expand"]

Shape = tuple[int | None, ...]
Sub = tuple[str, str, dict[str, Any], Shape, dict[str, Shape]]

#: keras_hub classes whose sublayers :func:`expand` knows
COMPOSITES = frozenset({"TransformerEncoder", "TransformerDecoder", "TokenAndPositionEmbedding"})


def _inits(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {"kernel_initializer": cfg.get("kernel_initializer", "glorot_uniform"),
            "bias_initializer": cfg.get("bias_initializer", "zeros")}


def _attention(name: str, heads: int, head_dim: int, cfg: Mapping[str, Any], query: Shape,
               value: Shape) -> Sub:
    config = {"name": name, "num_heads": heads, "key_dim": head_dim, "value_dim": head_dim,
              "use_bias": True, **_inits(cfg)}
    return name, "MultiHeadAttention", config, query, {"query": query, "value": value}


def _norm(name: str, cfg: Mapping[str, Any], shape: Shape) -> Sub:
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    return name, "LayerNormalization", {"name": name, "epsilon": eps, "axis": -1}, shape, {}


def _dense(name: str, units: int, cfg: Mapping[str, Any], shape: Shape) -> Sub:
    return name, "Dense", {"name": name, "units": units, "use_bias": True, **_inits(cfg)}, shape, {}


def expand(class_name: str, cfg: Mapping[str, Any], inputs: list[Shape | None]
           ) -> tuple[list[Sub], Shape] | None:
    """The sublayers of a keras_hub composite layer and its output shape, or None when the
    input shape is unknown.

    Example:
        >>> subs, out = expand("TransformerEncoder", {"num_heads": 2, "intermediate_dim": 8},
        ...                    [(None, 5, 4)])
        >>> [s[:2] for s in subs]  # doctest: +NORMALIZE_WHITESPACE
        [('self_attention_layer', 'MultiHeadAttention'),
         ('self_attention_layer_norm', 'LayerNormalization'),
         ('feedforward_layer_norm', 'LayerNormalization'),
         ('feedforward_intermediate_dense', 'Dense'), ('feedforward_output_dense', 'Dense')]
    """
    x = inputs[0] if inputs else None
    if x is None:
        return None
    if class_name == "TokenAndPositionEmbedding":
        dim = int(cfg["embedding_dim"])
        init = cfg.get("embeddings_initializer", "uniform")
        out = (*x, dim)
        return [("token_embedding", "ReversibleEmbedding", {
                    "name": "token_embedding", "input_dim": int(cfg["vocabulary_size"]),
                    "output_dim": dim, "tie_weights": cfg.get("tie_weights", True),
                    "embeddings_initializer": init}, x, {}),
                ("position_embedding", "PositionEmbedding", {
                    "name": "position_embedding", "initializer": init,
                    "sequence_length": int(cfg["sequence_length"])}, out, {})], out
    if not isinstance(x[-1], int):
        return None
    d, heads, f = int(x[-1]), int(cfg["num_heads"]), int(cfg["intermediate_dim"])
    hidden = (*x[:-1], f)
    ffn = [_dense("feedforward_intermediate_dense", f, cfg, x),
           _dense("feedforward_output_dense", d, cfg, hidden)]
    if class_name == "TransformerEncoder":
        return [_attention("self_attention_layer", heads, d // heads, cfg, x, x),
                _norm("self_attention_layer_norm", cfg, x),
                _norm("feedforward_layer_norm", cfg, x), *ffn], x
    subs = [_attention("self_attention", heads, d // heads, cfg, x, x),
            _norm("self_attention_layer_norm", cfg, x)]
    encoder = inputs[1] if len(inputs) > 1 else None
    if encoder is not None:
        subs += [_attention("cross_attention", heads, d // heads, cfg, x, encoder),
                 _norm("cross_attention_layer_norm", cfg, x)]
    return [*subs, *ffn, _norm("feedforward_layer_norm", cfg, x)], x
