"""Keras-initialized convolutions: ``Conv{1,2,3}d``, ``ConvTranspose{1,2,3}d``,
``DepthwiseConv{1,2}d`` and ``SeparableConv{1,2}d``.

Fans (Keras's, on Keras's kernel layouts):

* ``Conv*d`` = Keras ``Conv*D`` (also with ``groups``, even ``groups == in_channels``): kernel
  ``(*k, in/g, out)``, fans ``(in/g·K, out·K)`` — torch's layout, so torch's fans agree.
* ``ConvTranspose*d`` = Keras ``Conv*DTranspose``: kernel ``(*k, out, in)``, fans
  ``(out·K, in·K)`` (Keras calls out·K "fan_in"); the same permutation as Conv, no flip.
* ``DepthwiseConv*d`` = Keras ``DepthwiseConv*D``: kernel ``(*k, in, m)``, fans
  ``(in·K, m·K)`` where torch's own rule would give ``(K, in·m·K)``.
* ``SeparableConv*d``: ``.depthwise`` as above, ``.pointwise`` a 1×1 conv (fans (in·m, out))
  carrying the only bias.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from kerasinit.bridge.initializer import RngName
from kerasinit.bridge.layouts import Depthwise, Layout, TorchLayout
from kerasinit.mappings.versions import VersionLike
from kerasinit.modules.params import ParamSpec, param_spec, separable_specs
from kerasinit.nn._args import check_args
from kerasinit.nn._base import KerasLayerMixin, configure, uninitialized

__all__ = [
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "DepthwiseConv1d", "DepthwiseConv2d", "SeparableConv1d", "SeparableConv2d",
]

_TORCH = TorchLayout()
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]


def _specs(layer: str, role: str, layout: Layout) -> tuple[ParamSpec, ...]:
    return (param_spec("weight", role, layout, layer), param_spec("bias", "bias", _TORCH, layer))


class _Conv(KerasLayerMixin):
    _n: int = 2
    _transpose = False

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
        padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
        padding_mode: PaddingMode = "zeros", device: Any = None, dtype: Any = None, *,
        kernel_initializer: object = None, bias_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args(type(self).__name__, {
            "in_channels": in_channels, "out_channels": out_channels, "kernel_size": kernel_size,
            "stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
            "bias": bias, "padding_mode": padding_mode}, device, dtype, generator, self._n)
        config = configure(
            type(self).__name__, self._keras_name(),
            {"kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer},
            {"bias_initializer": bias}, keras_version, seed, rng)
        super().__init__(**a, device=device, dtype=dtype)  # type: ignore[call-arg]
        self._keras_setup(config, generator)
        self.reset_parameters()

    @classmethod
    def _keras_name(cls) -> str:
        return f"Conv{cls._n}D" + ("Transpose" if cls._transpose else "")

    def _kerasinit_params(self) -> tuple[ParamSpec, ...]:
        return _specs(self._keras_name(), "kernel", _TORCH)


class _ConvTranspose(_Conv):
    _transpose = True

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
        padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
        dilation: Any = 1, padding_mode: PaddingMode = "zeros", device: Any = None,
        dtype: Any = None, *, kernel_initializer: object = None, bias_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args(type(self).__name__, {
            "in_channels": in_channels, "out_channels": out_channels, "kernel_size": kernel_size,
            "stride": stride, "padding": padding, "output_padding": output_padding,
            "groups": groups, "bias": bias, "dilation": dilation, "padding_mode": padding_mode},
            device, dtype, generator, self._n, transpose=True)
        config = configure(
            type(self).__name__, self._keras_name(),
            {"kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer},
            {"bias_initializer": bias}, keras_version, seed, rng)
        super(_Conv, self).__init__(**a, device=device, dtype=dtype)  # type: ignore[call-arg]
        self._keras_setup(config, generator)
        self.reset_parameters()


class Conv1d(_Conv, nn.Conv1d):
    """``torch.nn.Conv1d`` initialized as Keras ``Conv1D`` (glorot_uniform / zeros); see module doc."""

    _n = 1


class Conv2d(_Conv, nn.Conv2d):
    """``torch.nn.Conv2d`` initialized as Keras ``Conv2D`` (glorot_uniform / zeros).

    ``groups`` is Keras's ``groups``: kernel ``(*k, in/g, out)``, fans ``(in/g·K, out·K)``
    (use :class:`DepthwiseConv2d` for Keras ``DepthwiseConv2D`` fans).

    Example:
        >>> from kerasinit import nn as knn
        >>> conv = knn.Conv2d(64, 128, 3, kernel_initializer="he_uniform", seed=0)
        >>> bool(conv.weight.abs().max() <= (6 / (64 * 9)) ** 0.5)
        True
    """

    _n = 2


class Conv3d(_Conv, nn.Conv3d):
    """``torch.nn.Conv3d`` initialized as Keras ``Conv3D`` (glorot_uniform / zeros); see module doc."""

    _n = 3


class ConvTranspose1d(_ConvTranspose, nn.ConvTranspose1d):
    """``torch.nn.ConvTranspose1d`` initialized as Keras ``Conv1DTranspose``; see module doc."""

    _n = 1


class ConvTranspose2d(_ConvTranspose, nn.ConvTranspose2d):
    """``torch.nn.ConvTranspose2d`` initialized as Keras ``Conv2DTranspose`` (glorot / zeros).

    Keras fans of the kernel ``(*k, out, in)`` are ``(out·K, in·K)``.

    Example:
        >>> from kerasinit import nn as knn
        >>> up = knn.ConvTranspose2d(128, 64, 4, stride=2, kernel_initializer="he_uniform", seed=0)
        >>> bool(up.weight.abs().max() <= (6 / (64 * 16)) ** 0.5)
        True
    """

    _n = 2


class ConvTranspose3d(_ConvTranspose, nn.ConvTranspose3d):
    """``torch.nn.ConvTranspose3d`` initialized as Keras ``Conv3DTranspose``; see module doc."""

    _n = 3


class _Depthwise(KerasLayerMixin):
    _n: int = 2

    def __init__(
        self, in_channels: int, kernel_size: Any, depth_multiplier: int = 1, stride: Any = 1,
        padding: Any = 0, dilation: Any = 1, bias: bool = True, padding_mode: PaddingMode = "zeros",
        device: Any = None, dtype: Any = None, *,
        depthwise_initializer: object = None, bias_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args(type(self).__name__, {
            "in_channels": in_channels, "depth_multiplier": depth_multiplier,
            "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "dilation": dilation, "bias": bias, "padding_mode": padding_mode},
            device, dtype, generator, self._n, positive=("in_channels",))
        in_channels, depth_multiplier = a["in_channels"], a["depth_multiplier"]
        config = configure(
            type(self).__name__, f"DepthwiseConv{self._n}D",
            {"depthwise_initializer": depthwise_initializer,
             "bias_initializer": bias_initializer},
            {"bias_initializer": bias}, keras_version, seed, rng)
        super().__init__(in_channels, in_channels * depth_multiplier,  # type: ignore[call-arg]
                         a["kernel_size"], a["stride"], a["padding"], a["dilation"], in_channels,
                         a["bias"], padding_mode, device, dtype)
        self.depth_multiplier = depth_multiplier
        self._keras_setup(config, generator)
        self.reset_parameters()

    def _kerasinit_params(self) -> tuple[ParamSpec, ...]:
        return _specs(f"DepthwiseConv{self._n}D", "depthwise_kernel",
                      Depthwise(self.depth_multiplier))


class DepthwiseConv1d(_Depthwise, nn.Conv1d):
    """Keras ``DepthwiseConv1D``: ``nn.Conv1d(in, in·m, k, groups=in)``; see :class:`DepthwiseConv2d`."""

    _n = 1


class DepthwiseConv2d(_Depthwise, nn.Conv2d):
    """Keras ``DepthwiseConv2D`` as ``nn.Conv2d(in, in·m, k, groups=in)`` with Keras's fans.

    Keras's depthwise kernel ``(*k, in, m)`` has fans ``(in·K, m·K)``; torch's rule on the
    weight ``(in·m, 1, *k)`` would say ``(K, in·m·K)`` (he_normal √in times too wide).
    Output channel ``c·m + j`` is Keras's ``[..., c, j]``.

    Example:
        >>> from kerasinit import nn as knn
        >>> dw = knn.DepthwiseConv2d(64, 3, depth_multiplier=4, depthwise_initializer="he_uniform")
        >>> dw.weight.shape, dw.groups, bool(dw.weight.abs().max() <= (6 / (64 * 9)) ** 0.5)
        (torch.Size([256, 1, 3, 3]), 64, True)
    """

    _n = 2


class _Separable(KerasLayerMixin, nn.Module):
    _n: int = 2
    _keras_recurse = True

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any,
        depth_multiplier: int = 1, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
        bias: bool = True, padding_mode: PaddingMode = "zeros", device: Any = None, dtype: Any = None,
        *, depthwise_initializer: object = None, pointwise_initializer: object = None,
        bias_initializer: object = None, keras_version: VersionLike = None,
        seed: int | None = None, generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        a = check_args(type(self).__name__, {
            "in_channels": in_channels, "out_channels": out_channels, "kernel_size": kernel_size,
            "depth_multiplier": depth_multiplier, "stride": stride, "padding": padding,
            "dilation": dilation, "bias": bias, "padding_mode": padding_mode},
            device, dtype, generator, self._n, positive=("in_channels",))
        in_channels, out_channels, depth_multiplier = (
            a["in_channels"], a["out_channels"], a["depth_multiplier"])
        config = configure(
            type(self).__name__, f"SeparableConv{self._n}D",
            {"depthwise_initializer": depthwise_initializer,
             "pointwise_initializer": pointwise_initializer,
             "bias_initializer": bias_initializer},
            {"bias_initializer": bias}, keras_version, seed, rng)
        super().__init__()
        conv = nn.Conv1d if self._n == 1 else nn.Conv2d
        mid = in_channels * depth_multiplier
        self.depth_multiplier = depth_multiplier
        # built without torch's default init (it would draw from the global RNG): every weight
        # is written by the Keras initializers below
        self.depthwise = uninitialized(conv, in_channels, mid, a["kernel_size"], a["stride"],
                                       a["padding"], a["dilation"], in_channels, False,
                                       padding_mode, device=device, dtype=dtype)
        self.pointwise = uninitialized(conv, mid, out_channels, 1, bias=a["bias"], device=device,
                                       dtype=dtype)
        self._keras_setup(config, generator)
        self.reset_parameters()

    def _kerasinit_params(self) -> tuple[ParamSpec, ...]:
        return separable_specs(self._n, self.depth_multiplier, pointwise_bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))  # type: ignore[no-any-return]

    def reset_parameters(self) -> None:
        """Re-initialize both convs with the layer's Keras initializers."""
        self._keras_reset()

    def extra_repr(self) -> str:
        return f"depth_multiplier={self.depth_multiplier}, {self._keras_repr()}"


class SeparableConv1d(_Separable):
    """Keras ``SeparableConv1D``: ``.depthwise`` (groups=in, no bias) then a 1×1 ``.pointwise``."""

    _n = 1


class SeparableConv2d(_Separable):
    """Keras ``SeparableConv2D``: ``.depthwise`` (groups=in, no bias) then a 1×1 ``.pointwise``.

    Defaults: depthwise and pointwise glorot_uniform, bias zeros (on the pointwise conv).

    Example:
        >>> import torch
        >>> from kerasinit import nn as knn
        >>> sep = knn.SeparableConv2d(32, 64, 3, padding=1)
        >>> sep(torch.zeros(1, 32, 8, 8)).shape, sep.depthwise.weight.shape, sep.pointwise.weight.shape
        (torch.Size([1, 64, 8, 8]), torch.Size([32, 1, 3, 3]), torch.Size([64, 32, 1, 1]))
    """

    _n = 2
