"""Keras-initialized normalization layers: ``BatchNorm{1,2,3}d``, ``LayerNorm``, ``GroupNorm``.

Keras defaults: gamma ones, beta zeros (BatchNormalization: moving mean zeros, moving variance
ones), the same values as torch. Only the initializers are Keras's: ``eps`` and ``momentum``
keep torch's defaults (Keras: epsilon 1e-3, momentum 0.99 = torch ``momentum=0.01``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kerasinit.bridge.initializer import RngName
from kerasinit.mappings.versions import VersionLike
from kerasinit.nn._args import check_args
from kerasinit.nn._base import KerasLayerMixin, configure

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "LayerNorm"]


class _BatchNorm(KerasLayerMixin):
    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
        affine: bool = True, track_running_stats: bool = True, device: Any = None,
        dtype: Any = None, *, gamma_initializer: object = None,
        beta_initializer: object = None, moving_mean_initializer: object = None,
        moving_variance_initializer: object = None, keras_version: VersionLike = None,
        seed: int | None = None, generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args(type(self).__name__, {
            "num_features": num_features, "eps": eps, "momentum": momentum, "affine": affine,
            "track_running_stats": track_running_stats}, device, dtype, generator)
        config = configure(
            type(self).__name__, "BatchNormalization",
            {"gamma_initializer": gamma_initializer, "beta_initializer": beta_initializer,
             "moving_mean_initializer": moving_mean_initializer,
             "moving_variance_initializer": moving_variance_initializer},
            {"gamma_initializer": affine, "beta_initializer": affine,
             "moving_mean_initializer": track_running_stats,
             "moving_variance_initializer": track_running_stats},
            keras_version, seed, rng)
        super().__init__(**a, device=device, dtype=dtype)  # type: ignore[call-arg]
        self._keras_setup(config, generator)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset ``num_batches_tracked`` (as torch) and apply the Keras initializers."""
        if "keras_initializers" in self.__dict__:
            self.reset_running_stats()  # type: ignore[attr-defined]
            self._keras_reset()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._keras_repr()}"  # type: ignore[misc]


class BatchNorm1d(_BatchNorm, nn.BatchNorm1d):
    """``torch.nn.BatchNorm1d`` with Keras ``BatchNormalization`` initializer keywords."""


class BatchNorm2d(_BatchNorm, nn.BatchNorm2d):
    """``torch.nn.BatchNorm2d`` with Keras ``BatchNormalization`` initializer keywords.

    Example:
        >>> from kerasinit import nn as knn
        >>> bn = knn.BatchNorm2d(4, moving_variance_initializer={"class_name": "Constant", "config": {"value": 2.0}})
        >>> bn.running_var.tolist(), bn.weight.tolist()
        ([2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0])
    """


class BatchNorm3d(_BatchNorm, nn.BatchNorm3d):
    """``torch.nn.BatchNorm3d`` with Keras ``BatchNormalization`` initializer keywords."""


class LayerNorm(KerasLayerMixin, nn.LayerNorm):
    """``torch.nn.LayerNorm`` with Keras ``LayerNormalization`` initializer keywords.

    gamma/beta have the normalized shape in both frameworks (Keras fans on that shape).

    Example:
        >>> from kerasinit import nn as knn
        >>> knn.LayerNorm(3, gamma_initializer="zeros").weight.tolist()
        [0.0, 0.0, 0.0]
    """

    def __init__(
        self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
        bias: bool = True, device: Any = None, dtype: Any = None, *,
        gamma_initializer: object = None, beta_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args("LayerNorm", {
            "normalized_shape": normalized_shape, "eps": eps,
            "elementwise_affine": elementwise_affine, "bias": bias}, device, dtype, generator)
        config = configure(
            "LayerNorm", "LayerNormalization",
            {"gamma_initializer": gamma_initializer, "beta_initializer": beta_initializer},
            {"gamma_initializer": elementwise_affine,
             "beta_initializer": elementwise_affine and bias}, keras_version, seed, rng)
        super().__init__(**a, device=device, dtype=dtype)
        self._keras_setup(config, generator)
        self.reset_parameters()


class GroupNorm(KerasLayerMixin, nn.GroupNorm):
    """``torch.nn.GroupNorm`` with Keras ``GroupNormalization`` initializer keywords.

    Example:
        >>> from kerasinit import nn as knn
        >>> knn.GroupNorm(2, 4, beta_initializer="ones").bias.tolist()
        [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
        device: Any = None, dtype: Any = None, *, gamma_initializer: object = None,
        beta_initializer: object = None, keras_version: VersionLike = None,
        seed: int | None = None, generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args("GroupNorm", {"num_groups": num_groups, "num_channels": num_channels,
                                     "eps": eps, "affine": affine}, device, dtype, generator)
        config = configure(
            "GroupNorm", "GroupNormalization",
            {"gamma_initializer": gamma_initializer, "beta_initializer": beta_initializer},
            {"gamma_initializer": affine, "beta_initializer": affine}, keras_version, seed, rng)
        super().__init__(**a, device=device, dtype=dtype)
        self._keras_setup(config, generator)
        self.reset_parameters()
