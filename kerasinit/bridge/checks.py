"""The tensor-level validation boundary: everything checked before the first write or draw.

:class:`~kerasinit.bridge.initializer.Initializer` calls these before it touches the tensor
or any random generator, so a refused call leaves the tensor bit-identical and torch's global
RNG state unchanged. Each check raises a :class:`~kerasinit.mappings.errors.KerasInitError`
subclass naming what was received and what is valid.

What is refused, and why:

* not a tensor; a sparse, nested or quantized tensor (no in-place dense fill exists);
* an inference tensor outside ``torch.inference_mode()`` (torch refuses in-place updates of
  those, after kerasinit would already have drawn random numbers);
* a tensor whose elements share memory (``expand()``, ``as_strided`` with overlapping
  strides): one element would receive several values;
* a ``generator=`` that is not a ``torch.Generator`` or lives on another device type;
* values an integer or bool tensor cannot hold (NaN, infinities, beyond int64), and
  parameters the seed-faithful backend itself refuses (Keras on torch refuses a negative or
  NaN ``stddev`` because ``torch.normal`` does).

What is accepted as Keras accepts it: a negative ``stddev`` (the sign is irrelevant for the
distribution; ``rng="tensorflow"`` multiplies by it as TensorFlow does), NaN or infinite
parameters, and finite parameters whose samples overflow the tensor's dtype: the values are
then NaN or infinite, as Keras's are.

Example:
    >>> import torch
    >>> check_tensor(torch.zeros(3, 1).expand(3, 4), "HeNormal")
    Traceback (most recent call last):
    ...
    kerasinit.mappings.errors.LayoutError: HeNormal: the tensor's elements share memory (shape (3, 4), strides (1, 0), e.g. from expand()); an in-place initializer would write several values into one element. Pass a tensor that owns its elements (e.g. .clone() or .contiguous()).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from kerasinit.mappings.distributions import Constant, Distribution, Normal, Uniform
from kerasinit.mappings.errors import InitializerArgumentError, LayoutError, shown

__all__ = ["check_generator", "check_tensor", "check_values", "computed_by", "has_overlap"]

_INT_LIMIT = float(1 << 63)
_F32_MAX = float(torch.finfo(torch.float32).max)


def has_overlap(tensor: torch.Tensor) -> bool:
    """Whether two elements of ``tensor`` may share memory (conservative stride test).

    Sorted by stride, every dimension's stride must exceed the largest offset the smaller
    dimensions reach; every view made by slicing, transposing, permuting, ``diagonal`` or
    ``view_as_real`` passes, ``expand()`` and overlapping ``as_strided`` views do not.

    Example:
        >>> import torch
        >>> has_overlap(torch.zeros(4, 4).t()[1:, ::2]), has_overlap(torch.zeros(4).expand(2, 4))
        (False, True)
    """
    extent = 0
    dims = zip(tensor.stride(), tensor.shape, strict=True)
    for stride, size in sorted((st, sz) for st, sz in dims if sz > 1):
        if stride <= extent:
            return True
        extent += stride * (size - 1)
    return False


def check_tensor(tensor: object, owner: str) -> torch.Tensor:
    """``tensor`` if an in-place initializer can write it, else a :class:`LayoutError`."""
    if not isinstance(tensor, torch.Tensor):
        raise LayoutError(
            f"{owner}: expected a torch.Tensor to initialize. Received {shown(tensor, 80)} "
            f"(type {type(tensor).__name__})."
        )
    if tensor.layout != torch.strided or tensor.is_nested or tensor.is_quantized:
        kind = "nested" if tensor.is_nested else "quantized" if tensor.is_quantized else \
            str(tensor.layout).removeprefix("torch.")
        raise LayoutError(
            f"{owner}: cannot initialize a {kind} tensor in place (layout {tensor.layout}). "
            f"Initialize a dense (torch.strided) tensor, then convert it (e.g. .to_sparse())."
        )
    if tensor.is_inference() and not torch.is_inference_mode_enabled():
        raise LayoutError(
            f"{owner}: the tensor was created under torch.inference_mode(), and torch refuses "
            f"in-place updates of inference tensors outside it. Initialize it inside "
            f"torch.inference_mode(), or initialize a normal tensor (e.g. .clone() it first "
            f"outside inference mode)."
        )
    if not tensor.is_meta and tensor.numel() > 1 and has_overlap(tensor):
        raise LayoutError(
            f"{owner}: the tensor's elements share memory (shape {tuple(tensor.shape)}, strides "
            f"{tensor.stride()}, e.g. from expand()); an in-place initializer would write "
            f"several values into one element. Pass a tensor that owns its elements (e.g. "
            f".clone() or .contiguous())."
        )
    return tensor


def computed_by(module: torch.nn.Module, name: str) -> str | None:
    """What recomputes the tensor at ``name`` from other tensors (a ``torch.nn.utils``
    parametrization, or the old ``weight_norm``/``spectral_norm`` hooks), or None.

    Writing such a tensor in place is lost (a parametrization recomputes it on every access,
    the old hooks before every forward), so initializers must refuse it.

    Example:
        >>> from torch import nn
        >>> computed_by(nn.utils.parametrizations.weight_norm(nn.Linear(2, 2)), "weight")
        'a torch parametrization (_WeightNorm)'
        >>> computed_by(nn.Linear(2, 2), "weight") is None
        True
    """
    owner_path, _, leaf = name.rpartition(".")
    owner: object = module
    for part in owner_path.split(".") if owner_path else ():
        owner = getattr(owner, part, None)
    if not isinstance(owner, torch.nn.Module):
        return None
    parametrizations = getattr(owner, "parametrizations", None)
    if isinstance(parametrizations, torch.nn.ModuleDict) and leaf in parametrizations:
        kinds = ", ".join(type(p).__name__ for p in parametrizations[leaf].children())
        return f"a torch parametrization ({kinds})"
    for hook in owner._forward_pre_hooks.values():
        if getattr(hook, "name", None) == leaf and type(hook).__name__ in (
                "WeightNorm", "SpectralNorm"):
            return f"torch's {type(hook).__name__} hook"
    return None


def check_generator(generator: object, tensor: torch.Tensor, owner: str) -> None:
    """A ``generator=`` must be a ``torch.Generator`` on the tensor's device type."""
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise InitializerArgumentError(
            f"{owner}: `generator` must be a torch.Generator or None. Received: "
            f"{shown(generator, 80)} (type {type(generator).__name__}). To seed, pass seed=... "
            f"or torch.Generator().manual_seed(...)."
        )
    if not tensor.is_meta and generator.device.type != tensor.device.type:
        raise InitializerArgumentError(
            f"{owner}: the generator is on {generator.device} but the tensor is on "
            f"{tensor.device}; torch samples only with a generator of the tensor's device type."
        )


def check_values(dists: Iterable[Distribution], dtype: torch.dtype, rng: str, owner: str) -> None:
    """Values the dtype cannot hold and parameters the chosen backend refuses."""
    for dist in dists:
        if isinstance(dist, Constant) and not (dtype.is_floating_point or dtype.is_complex):
            bad = _non_integral(dist)
            if bad is not None:
                raise LayoutError(
                    f"{owner}: the constant {shown(bad, 60)} cannot be stored in a {dtype} tensor "
                    f"(integer and bool tensors hold finite values below 2**63 in magnitude; "
                    f"values are truncated toward zero and wrap to the dtype's width, as Keras's "
                    f"cast does)."
                )
        if isinstance(dist, Constant):
            big = _beyond_float32(dist)
            if big is not None:
                raise LayoutError(
                    f"{owner}: the constant {big!r} is beyond the float32 range; Keras refuses "
                    f"it (it converts the value to a float32 tensor before casting it to the "
                    f"variable's dtype)."
                )
        if rng == "tensorflow" and isinstance(dist, Uniform):
            big = next((v for v in (dist.low, dist.high)
                        if math.isfinite(v) and abs(v) > _F32_MAX), None)
            if big is not None:
                raise InitializerArgumentError(
                    f"{owner}: RandomUniform bound {big!r} is beyond the float32 range; Keras on "
                    f"TensorFlow refuses it (it converts minval/maxval to float32 tensors)."
                )
        if rng == "keras-torch" and isinstance(dist, Normal) and not dist.std >= 0.0:
            raise InitializerArgumentError(
                f"{owner}: rng='keras-torch' reproduces Keras on the torch backend, which calls "
                f"torch.normal(mean, stddev) and fails for stddev={dist.std!r} (it needs "
                f"stddev >= 0). Use rng='tensorflow' or rng='torch' (which accept it as Keras "
                f"on TensorFlow does)."
            )


def _beyond_float32(dist: Constant) -> float | None:
    """The first finite value beyond the float32 range, or None."""
    if dist.is_scalar:
        v = float(dist.value)  # type: ignore[arg-type]
        return v if math.isfinite(v) and abs(v) > _F32_MAX else None
    import numpy as np

    arr = np.asarray(dist.value, dtype=np.float64)
    bad = np.isfinite(arr) & (np.abs(arr) > _F32_MAX)
    return float(arr[bad].flat[0]) if bad.any() else None


def _non_integral(dist: Constant) -> float | None:
    """The first value an integer tensor cannot hold (non-finite or |v| >= 2**63), or None."""
    if dist.is_scalar:
        v = float(dist.value)  # type: ignore[arg-type]
        return v if not (math.isfinite(v) and abs(v) < _INT_LIMIT) else None
    import numpy as np

    arr = np.asarray(dist.value, dtype=np.float64)
    bad = ~(np.isfinite(arr) & (np.abs(arr) < _INT_LIMIT))
    return float(arr[bad].flat[0]) if bad.any() else None
