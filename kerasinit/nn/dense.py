"""Keras-initialized ``Linear`` (Dense), ``Embedding`` and ``PReLU``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kerasinit.bridge.initializer import RngName
from kerasinit.mappings.versions import VersionLike
from kerasinit.modules.apply import ModuleKeywordError
from kerasinit.nn._args import check_args
from kerasinit.nn._base import KerasLayerMixin, configure

__all__ = ["Embedding", "Linear", "PReLU"]


class Linear(KerasLayerMixin, nn.Linear):
    """``torch.nn.Linear`` initialized as Keras ``Dense``: kernel glorot_uniform, bias zeros.

    Takes ``nn.Linear``'s arguments plus Keras's ``kernel_initializer`` / ``bias_initializer``
    (any identifier ``kerasinit.get`` accepts; None = the Keras default for ``keras_version``),
    ``seed``, ``generator`` and ``rng``. The kernel's Keras fans are (in_features,
    out_features); ``reset_parameters()`` re-applies the Keras initializers.

    Example:
        >>> import torch
        >>> from kerasinit import nn as knn
        >>> fc = knn.Linear(784, 256, kernel_initializer="he_uniform", seed=0)
        >>> bool(fc.weight.abs().max() <= (6 / 784) ** 0.5), bool((fc.bias == 0).all())
        (True, True)
        >>> isinstance(fc, torch.nn.Linear)
        True
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True,
        device: Any = None, dtype: Any = None, *,
        kernel_initializer: object = None, bias_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args("Linear", {"in_features": in_features, "out_features": out_features,
                                  "bias": bias}, device, dtype, generator)
        config = configure(
            "Linear", "Dense",
            {"kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer},
            {"bias_initializer": bias}, keras_version, seed, rng)
        super().__init__(a["in_features"], a["out_features"], a["bias"], device, dtype)
        self._keras_setup(config, generator)
        self.reset_parameters()


class Embedding(KerasLayerMixin, nn.Embedding):
    """``torch.nn.Embedding`` initialized as Keras: ``RandomUniform(-0.05, 0.05)``.

    Keras fans of the (V, D) table are (V, D) (vocabulary = fan_in), not torch's (D, V), so
    e.g. ``embeddings_initializer="he_normal"`` gives std sqrt(2/V). The ``padding_idx`` row
    is zeroed after sampling, as torch does (Keras has no padding row). A ``_weight`` passed
    to the constructor (``from_pretrained``) is kept.

    Example:
        >>> from kerasinit import nn as knn
        >>> emb = knn.Embedding(1000, 64, padding_idx=0, seed=0)
        >>> bool(emb.weight.abs().max() <= 0.05), bool((emb.weight[0] == 0).all())
        (True, True)
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
        max_norm: float | None = None, norm_type: float = 2.0,
        scale_grad_by_freq: bool = False, sparse: bool = False,
        _weight: torch.Tensor | None = None, _freeze: bool = False,
        device: Any = None, dtype: Any = None, *,
        embeddings_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args("Embedding", {
            "num_embeddings": num_embeddings, "embedding_dim": embedding_dim,
            "padding_idx": padding_idx, "max_norm": max_norm, "norm_type": norm_type,
            "scale_grad_by_freq": scale_grad_by_freq, "sparse": sparse, "_weight": _weight,
            "_freeze": _freeze}, device, dtype, generator)
        config = configure("Embedding", "Embedding",
                           {"embeddings_initializer": embeddings_initializer}, {},
                           keras_version, seed, rng)
        super().__init__(a["num_embeddings"], a["embedding_dim"], a["padding_idx"], max_norm,
                         norm_type, scale_grad_by_freq, sparse, _weight, _freeze, device, dtype)
        self._keras_setup(config, generator)
        if _weight is None:
            self.reset_parameters()


class PReLU(KerasLayerMixin, nn.PReLU):
    """``torch.nn.PReLU`` initialized as Keras: ``alpha_initializer="zeros"`` (torch: 0.25).

    ``init=`` (torch's constant) is accepted instead of ``alpha_initializer``; giving both is
    an error. Keras's alpha (C,) maps to ``weight`` directly; for image inputs Keras's default
    alpha is per element, which torch cannot express (use ``shared_axes=[1, 2]`` in Keras).

    Example:
        >>> from kerasinit import nn as knn
        >>> knn.PReLU(8).weight.tolist() == [0.0] * 8, knn.PReLU(2, init=0.25).weight.tolist()
        (True, [0.25, 0.25])
    """

    def __init__(
        self, num_parameters: int = 1, init: float | None = None,
        device: Any = None, dtype: Any = None, *,
        alpha_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args("PReLU", {"num_parameters": num_parameters, "init": init}, device, dtype,
                       generator)
        if init is not None:
            if alpha_initializer is not None:
                raise ModuleKeywordError(
                    f"PReLU: give either init= (torch) or alpha_initializer= (Keras), not both. "
                    f"Received init={init!r}, alpha_initializer={alpha_initializer!r}.")
            alpha_initializer = {"class_name": "Constant", "config": {"value": float(init)}}
        config = configure("PReLU", "PReLU", {"alpha_initializer": alpha_initializer}, {},
                           keras_version, seed, rng)
        super().__init__(a["num_parameters"], 0.25 if init is None else init, device, dtype)
        self._keras_setup(config, generator)
        self.reset_parameters()
