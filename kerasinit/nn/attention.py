"""Keras-initialized ``MultiheadAttention`` (Keras ``MultiHeadAttention`` fans per version)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kerasinit.bridge.initializer import RngName
from kerasinit.mappings.versions import VersionLike
from kerasinit.nn._args import check_args
from kerasinit.nn._base import KerasLayerMixin, configure, final_device, private_generator

__all__ = ["MultiheadAttention"]


class MultiheadAttention(KerasLayerMixin, nn.MultiheadAttention):
    """``torch.nn.MultiheadAttention`` initialized as Keras ``MultiHeadAttention``.

    Each of the q, k, v blocks of ``in_proj_weight`` (or ``q/k/v_proj_weight``) is its own Keras
    kernel ``(E_in, h, d)``, and ``out_proj.weight`` is Keras's ``(h, d, E)`` output kernel
    (torch leaves it at the Linear default). Fans follow ``keras_version``: Keras >= 3.15 uses
    the einsum axes (E_in, h·d); Keras <= 3.14 and tf_keras the rank rule (h·E_in, d·E_in) and
    (h·d, h·E). Biases: zeros (Keras (h, d) per projection). ``add_bias_kv``'s ``bias_k`` /
    ``bias_v`` have no Keras counterpart and keep torch's xavier_normal_ (from ``generator``, or a
    private generator seeded with ``seed``: a seeded layer never touches the global RNG).

    Example:
        >>> from kerasinit import nn as knn
        >>> mha = knn.MultiheadAttention(512, 8, keras_version="3.15")
        >>> bool(mha.in_proj_weight.abs().max() <= (6 / 1024) ** 0.5)
        True
    """

    def __init__(
        self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
        add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
        vdim: int | None = None, batch_first: bool = False, device: Any = None,
        dtype: Any = None, *, kernel_initializer: object = None,
        bias_initializer: object = None, keras_version: VersionLike = None,
        seed: int | None = None, generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args("MultiheadAttention", {
            "embed_dim": embed_dim, "num_heads": num_heads, "dropout": dropout, "bias": bias,
            "add_bias_kv": add_bias_kv, "add_zero_attn": add_zero_attn, "kdim": kdim,
            "vdim": vdim, "batch_first": batch_first}, device, dtype, generator)
        config = configure(
            "MultiheadAttention", "MultiHeadAttention",
            {"kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer},
            {"bias_initializer": bias}, keras_version, seed, rng)
        # built on meta (torch's own init of out_proj would draw from the global RNG), then
        # materialized; every parameter is written below
        super().__init__(**a, device="meta", dtype=dtype)
        self.to_empty(device=final_device(device))
        self._keras_setup(config, generator)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if not self._keras_reset():
            return
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                g = private_generator(self.generator, self.seed, extra.device)
                nn.init.xavier_normal_(extra, generator=g)

    def reset_parameters(self) -> None:
        """Re-initialize every projection with the layer's Keras initializers."""
        self._reset_parameters()

    def extra_repr(self) -> str:
        return self._keras_repr()
