"""Torch-style functional API: one in-place ``*_`` function per canonical Keras initializer.

Each takes the tensor first, then the parameters torch's same-named function takes in torch's
positional order (``gain`` for ``glorot_*_``/``orthogonal_``, ``mean``/``stddev``,
``minval``/``maxval``, ``value``), so a torch call never lands on a different meaning
(``he_normal_(w, 2)`` is a ``TypeError``, not a seed). Everything else is keyword-only: ``seed``,
``layout``, ``fans``, ``generator``, ``keras_version``. Each fills the tensor in place under
``torch.no_grad()`` and returns it.

torch's keyword names are accepted where the meaning is the same:

========================  ===================  =====================================
kerasinit function        torch keyword        Keras name / meaning
========================  ===================  =====================================
``truncated_normal_``     ``std``              ``stddev``
``truncated_normal_``     ``a``, ``b``         only if equal to ``mean ∓ 2·stddev``
``random_normal_``        ``std``              ``stddev``
``random_uniform_``       ``a``, ``b``         ``minval``, ``maxval``
``glorot_*_``             ``gain``             VarianceScaling ``scale = gain²``
``orthogonal_``           ``gain``             ``gain``
``constant_``             ``val``              ``value``
========================  ===================  =====================================

Where a same-named torch function differs, the docstring says so: ``truncated_normal_`` cuts at
``mean ± 2·stddev`` (torch's ``trunc_normal_`` cuts at the absolute ``a=-2, b=2``), and the
``*_normal_`` variance-scaling functions are truncated (torch's ``kaiming_normal_`` and
``xavier_normal_`` are not).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kerasinit.bridge.layouts import LayoutLike
from kerasinit.bridge.torch_args import (
    Axes,
    Fans,
    apply_spec,
    check_cut,
    preset,
    torch_alias,
)
from kerasinit.mappings.specs import (
    ConstantSpec,
    DistributionName,
    IdentitySpec,
    Mode,
    OrthogonalSpec,
    RandomNormalSpec,
    RandomUniformSpec,
    STFTSpec,
    TruncatedNormalSpec,
    VarianceScalingSpec,
)
from kerasinit.mappings.versions import VersionLike

__all__ = [
    "constant_", "glorot_normal_", "glorot_uniform_", "he_normal_", "he_uniform_", "identity_",
    "lecun_normal_", "lecun_uniform_", "ones_", "orthogonal_", "random_normal_",
    "random_uniform_", "stft_", "truncated_normal_", "variance_scaling_", "zeros_",
]

def glorot_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, *, seed: int | None = None, input_axes: Axes = None,
    output_axes: Axes = None, layout: LayoutLike = "torch",
    fans: Fans = None, generator: torch.Generator | None = None, keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``GlorotUniform``: :math:`U[-L, L)`, :math:`L = \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`.

    Fans are Keras's, computed on the Keras kernel that ``layout`` maps the tensor to.
    Equals ``torch.nn.init.xavier_uniform_`` for Linear/Conv/RNN weights; differs for depthwise
    (multiplier > 1), packed MHA projections and rank < 2 tensors.

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.glorot_uniform_(torch.empty(30, 20), seed=0)
        >>> bool(w.abs().max() <= (6 / 50) ** 0.5)
        True
    """
    return preset("glorot_uniform", tensor, seed, input_axes, output_axes, layout, fans, generator,
                   keras_version, gain=gain)


def glorot_normal_(
    tensor: torch.Tensor, gain: float = 1.0, *, seed: int | None = None, input_axes: Axes = None,
    output_axes: Axes = None, layout: LayoutLike = "torch",
    fans: Fans = None, generator: torch.Generator | None = None, keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``GlorotNormal``: truncated normal with realised std :math:`\sqrt{2/(\text{fan\_in}+\text{fan\_out})}`.

    Samples :math:`TN(0, \sigma)` cut at :math:`\pm 2\sigma`, with
    :math:`\sigma = \sqrt{2/(\text{fan\_in}+\text{fan\_out})} / 0.8796`. Unlike
    ``torch.nn.init.xavier_normal_`` (untruncated).

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.glorot_normal_(torch.empty(30, 20), seed=0)
        >>> bool(w.abs().max() <= 2 * (2 / 50) ** 0.5 / 0.87962566103423978)
        True
    """
    return preset("glorot_normal", tensor, seed, input_axes, output_axes, layout, fans, generator,
                   keras_version, gain=gain)


def he_uniform_(
    tensor: torch.Tensor, *, seed: int | None = None, input_axes: Axes = None,
    output_axes: Axes = None, layout: LayoutLike = "torch",
    fans: Fans = None, generator: torch.Generator | None = None, keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``HeUniform``: :math:`U[-L, L)`, :math:`L = \sqrt{6 / \text{fan\_in}}` (Keras fans).

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.he_uniform_(torch.empty(64, 10000), layout="embedding", seed=0)
        >>> bool(w.abs().max() <= (6 / 64) ** 0.5)   # Embedding: fan_in = vocabulary size
        True
    """
    return preset("he_uniform", tensor, seed, input_axes, output_axes, layout, fans, generator,
                   keras_version)


def he_normal_(
    tensor: torch.Tensor, *, seed: int | None = None, input_axes: Axes = None,
    output_axes: Axes = None, layout: LayoutLike = "torch",
    fans: Fans = None, generator: torch.Generator | None = None, keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``HeNormal``: :math:`TN(0, \sigma)` cut at :math:`\pm 2\sigma`, :math:`\sigma = \sqrt{2/\text{fan\_in}}/0.8796`.

    The realised std is :math:`\sqrt{2/\text{fan\_in}}`. ``torch.nn.init.kaiming_normal_`` has
    the same std but is untruncated, and uses torch's fans (wrong for depthwise and Embedding).

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.he_normal_(torch.empty(256, 784), seed=0)
        >>> bool(w.abs().max() <= 2 * (2 / 784) ** 0.5 / 0.87962566103423978)
        True
    """
    return preset("he_normal", tensor, seed, input_axes, output_axes, layout, fans, generator,
                   keras_version)


def lecun_uniform_(
    tensor: torch.Tensor, *, seed: int | None = None, input_axes: Axes = None,
    output_axes: Axes = None, layout: LayoutLike = "torch",
    fans: Fans = None, generator: torch.Generator | None = None, keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``LecunUniform``: :math:`U[-L, L)`, :math:`L = \sqrt{3 / \text{fan\_in}}`.

    Example:
        >>> import torch, kerasinit
        >>> bool(kerasinit.lecun_uniform_(torch.empty(8, 12), seed=1).abs().max() <= 0.5)
        True
    """
    return preset("lecun_uniform", tensor, seed, input_axes, output_axes, layout, fans, generator,
                   keras_version)


def lecun_normal_(
    tensor: torch.Tensor, *, seed: int | None = None, input_axes: Axes = None,
    output_axes: Axes = None, layout: LayoutLike = "torch",
    fans: Fans = None, generator: torch.Generator | None = None, keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``LecunNormal``: :math:`TN(0, \sigma)`, :math:`\sigma = \sqrt{1/\text{fan\_in}}/0.8796`, cut at :math:`\pm 2\sigma`.

    Not ``kaiming_normal_(nonlinearity='selu')`` (gain 3/4) nor ``'linear'`` (untruncated).

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.lecun_normal_(torch.empty(16, 100), seed=1)
        >>> bool(w.abs().max() <= 2 * 0.1 / 0.87962566103423978)
        True
    """
    return preset("lecun_normal", tensor, seed, input_axes, output_axes, layout, fans, generator,
                   keras_version)


def variance_scaling_(
    tensor: torch.Tensor,
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: DistributionName = "truncated_normal",
    *,
    seed: int | None = None,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
    layout: LayoutLike = "torch",
    fans: Fans = None,
    generator: torch.Generator | None = None,
    keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``VarianceScaling``.

    With :math:`n` = fan_in, fan_out or their mean (``mode``) and :math:`s = \text{scale}/\max(1, n)`:
    ``"truncated_normal"`` (or legacy ``"normal"``) samples :math:`TN(0, \sqrt{s}/0.8796)` cut at
    :math:`\pm 2\sigma`; ``"untruncated_normal"`` samples :math:`N(0, s)`; ``"uniform"`` samples
    :math:`U[-\sqrt{3s}, \sqrt{3s})`. ``input_axes``/``output_axes`` (Keras >= 3.15) give the fans
    as products over those axes of the Keras kernel.

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.variance_scaling_(torch.empty(10, 40), 3.0, "fan_out", "uniform", seed=0)
        >>> bool(w.abs().max() <= (9 / 10) ** 0.5)
        True
    """
    spec = VarianceScalingSpec(scale=scale, mode=mode, distribution=distribution, seed=seed,
                               input_axes=input_axes,  # type: ignore[arg-type]  # validated by the spec
                               output_axes=output_axes)  # type: ignore[arg-type]
    return apply_spec(spec, tensor, layout, fans, generator, keras_version)


def truncated_normal_(
    tensor: torch.Tensor, mean: float = 0.0, stddev: float = 0.05, *, std: float | None = None,
    a: float | None = None, b: float | None = None, seed: int | None = None,
    layout: LayoutLike = "torch", generator: torch.Generator | None = None,
    keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``TruncatedNormal``: :math:`N(\text{mean}, \text{stddev}^2)` cut at ``mean ± 2·stddev``.

    The bounds are **relative** (torch's ``trunc_normal_`` takes absolute ``a``/``b``, default
    ±2.0), and there is no variance correction: the realised std is ``0.8796·stddev``.

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.truncated_normal_(torch.empty(1000), stddev=0.05, seed=0)
        >>> bool(w.abs().max() <= 0.1)
        True
    """
    stddev = torch_alias("truncated_normal_", "stddev", stddev, 0.05, "std", std)
    spec = TruncatedNormalSpec(mean=mean, stddev=stddev, seed=seed)  # checks mean and stddev
    check_cut(spec.mean, spec.stddev, a, b)
    return apply_spec(spec, tensor, layout, None, generator, keras_version)


def random_normal_(
    tensor: torch.Tensor, mean: float = 0.0, stddev: float = 0.05, *, std: float | None = None,
    seed: int | None = None,
    layout: LayoutLike = "torch", generator: torch.Generator | None = None,
    keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``RandomNormal``: untruncated :math:`N(\text{mean}, \text{stddev}^2)`; default std 0.05, not torch's 1.

    Example:
        >>> import torch, kerasinit
        >>> kerasinit.random_normal_(torch.empty(3), stddev=0.0).tolist()
        [0.0, 0.0, 0.0]
    """
    stddev = torch_alias("random_normal_", "stddev", stddev, 0.05, "std", std)
    return apply_spec(RandomNormalSpec(mean=mean, stddev=stddev, seed=seed), tensor, layout, None,
                  generator, keras_version)


def random_uniform_(
    tensor: torch.Tensor, minval: float = -0.05, maxval: float = 0.05, *, a: float | None = None,
    b: float | None = None, seed: int | None = None,
    layout: LayoutLike = "torch", generator: torch.Generator | None = None,
    keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``RandomUniform``: :math:`U[\text{minval}, \text{maxval})`; default ±0.05, not torch's [0, 1).

    Example:
        >>> import torch, kerasinit
        >>> bool(kerasinit.random_uniform_(torch.empty(100), seed=0).abs().max() <= 0.05)
        True
    """
    minval = torch_alias("random_uniform_", "minval", minval, -0.05, "a", a)
    maxval = torch_alias("random_uniform_", "maxval", maxval, 0.05, "b", b)
    return apply_spec(RandomUniformSpec(minval=minval, maxval=maxval, seed=seed), tensor, layout,
                  None, generator, keras_version)


def orthogonal_(
    tensor: torch.Tensor, gain: float = 1.0, *, seed: int | None = None,
    layout: LayoutLike = "torch", generator: torch.Generator | None = None,
    keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``Orthogonal``: a Haar-random frame on Keras's flattening, times ``gain``.

    Keras flattens its kernel to :math:`(\prod \text{shape}[:-1], \text{shape}[-1])` (torch's
    ``orthogonal_`` flattens all but the first axis of the torch layout). With ``layout`` the
    frame is built on the Keras kernel and mapped back, so depthwise kernels are right too.
    The whole LSTM/GRU ``weight_hh`` is one frame, as in Keras (not one per gate).

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.orthogonal_(torch.empty(4, 8), seed=0)    # Keras kernel (8, 4)
        >>> bool(torch.allclose(w @ w.T, torch.eye(4), atol=1e-5))
        True
    """
    return apply_spec(OrthogonalSpec(gain=gain, seed=seed), tensor, layout, None, generator,
                  keras_version)


def identity_(
    tensor: torch.Tensor, gain: float = 1.0, *, layout: LayoutLike = "torch",
    keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``Identity``: ``gain · eye(in, out)`` on the 2-D Keras kernel (rectangular allowed).

    Example:
        >>> import torch, kerasinit
        >>> kerasinit.identity_(torch.empty(2, 3), gain=2.0).tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """
    return apply_spec(IdentitySpec(gain=gain), tensor, layout, None, None, keras_version)


def constant_(
    tensor: torch.Tensor, value: object = 0.0, *, val: object = None,
    layout: LayoutLike = "torch", keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``Constant``: a scalar, or an array in **Keras** layout placed through ``layout``.

    Keras 3 broadcasts arrays against the kernel shape; tf_keras (``keras_version="2"``) reshapes
    an array with the same number of elements.

    Example:
        >>> import torch, kerasinit
        >>> kerasinit.constant_(torch.empty(2, 3), [1.0, 2.0]).tolist()   # Keras kernel (3, 2)
        [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    """
    value = torch_alias("constant_", "value", value, 0.0, "val", val)
    return apply_spec(ConstantSpec(value=value), tensor, layout, None, None,  # type: ignore[arg-type]
                  keras_version)


def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Keras ``Zeros`` (the Keras default bias).

    Example:
        >>> import torch, kerasinit
        >>> kerasinit.zeros_(torch.ones(2)).tolist()
        [0.0, 0.0]
    """
    return apply_spec(ConstantSpec(name="zeros", value=0.0), tensor, "torch", None, None, None)


def ones_(tensor: torch.Tensor) -> torch.Tensor:
    """Keras ``Ones``.

    Example:
        >>> import torch, kerasinit
        >>> kerasinit.ones_(torch.zeros(2)).tolist()
        [1.0, 1.0]
    """
    return apply_spec(ConstantSpec(name="ones", value=1.0), tensor, "torch", None, None, None)


def stft_(
    tensor: torch.Tensor, side: str = "real", window: str | Sequence[float] | None = "hann",
    scaling: str | None = "density", periodic: bool = False, *, layout: LayoutLike = "torch",
    keras_version: VersionLike = None,
) -> torch.Tensor:
    r"""Keras ``STFT`` (Keras >= 3.7) for a ``Conv1d(1, F, T)`` weight ``(F, 1, T)``.

    :math:`K[t, 0, f] = \cos\theta` (``side="real"``) or :math:`\sin\theta` (``"imag"``),
    :math:`\theta = -2\pi t f / N`, :math:`N = 2(F - 1)`, times ``window[t] / S``.

    Example:
        >>> import torch, kerasinit
        >>> w = kerasinit.stft_(torch.empty(3, 1, 4), window=None)
        >>> [round(v, 4) for v in w[1, 0].tolist()]
        [1.0, 0.0, -1.0, -0.0]
    """
    spec = STFTSpec(side=side, window=window, scaling=scaling,  # type: ignore[arg-type]
                    periodic=periodic)  # the spec checks and converts the window
    return apply_spec(spec, tensor, layout, None, None, keras_version)
