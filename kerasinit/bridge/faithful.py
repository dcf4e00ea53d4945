"""Seed-faithful sampling (``rng="tensorflow"`` / ``"jax"`` / ``"keras-torch"``): Keras's values.

:class:`~kerasinit.bridge.initializer.Initializer` calls :func:`sample_keras` once per kernel
block with the resolved distribution; the result is the tensor Keras itself would create for
that seed, in Keras layout, which the layout then maps onto the torch parameter.

* ``rng="tensorflow"``: Keras on the TensorFlow backend (Keras 3, or tf_keras >= 2.10 for
  ``keras_version="2"``), bit for bit as TF's CPU kernels on Linux/glibc produce it, without
  TensorFlow (:mod:`kerasinit.bridge.rng.tensorflow`). Orthogonal: the normal matrix is exact,
  its QR agrees with TF's float32 Eigen QR to about 1e-6 relative.
* ``rng="jax"`` (jax/jaxlib 0.10.x) and ``rng="jax-0.4.38"``: Keras 3 on the JAX backend on an
  x86-64 CPU, bit for bit, without JAX (:mod:`kerasinit.bridge.rng.keras_jax`). Orthogonal:
  bit-exact with SciPy's float32 QR (what jaxlib calls), about 2e-6 relative without SciPy.
* ``rng="keras-torch"``: Keras 3 with ``KERAS_BACKEND=torch``, which draws from torch's own
  generators (:mod:`kerasinit.bridge.rng.keras_torch`); exact on the same torch build/device.

Values are Keras's float32 values; other tensor dtypes receive them cast (Keras keeps float32
variables under mixed precision too). Keras's own parameter arithmetic is reproduced: the
float64 parameters of ``resolved.distribution`` are the Python floats Keras computes
(``sqrt(scale / n) / 0.8796...``), which the backend rounds to float32.

Example:
    >>> import torch, kerasinit
    >>> w = torch.empty(3, 5)                     # nn.Linear(5, 3).weight, Keras kernel (5, 3)
    >>> _ = kerasinit.get("glorot_uniform", seed=42, rng="tensorflow")(w)
    >>> w.shape, bool(w.abs().max() <= (6 / 8) ** 0.5)
    (torch.Size([3, 5]), True)
"""

from __future__ import annotations

from typing import Any

import torch

from kerasinit.bridge.rng import keras_jax as kj
from kerasinit.bridge.rng import keras_torch
from kerasinit.bridge.rng import tensorflow as tfr
from kerasinit.bridge.rng.orthogonal import orthogonal
from kerasinit.bridge.rng.sink import Columns, as_tensor, write_flat
from kerasinit.bridge.samplers import Plan, keras_layout_values, keras_target
from kerasinit.mappings.distributions import (
    STFT,
    Constant,
    Identity,
    Normal,
    Orthogonal,
    TruncatedNormal,
    Uniform,
)
from kerasinit.mappings.errors import InitializerArgumentError
from kerasinit.mappings.resolve import Resolved
from kerasinit.mappings.versions import KerasVersion

__all__ = [
    "FAITHFUL_RNGS", "check_faithful_version", "check_torch_seed", "fill_faithful", "inplace_ok",
    "sample_distribution", "sample_keras", "tf_flavour",
]

#: The seed-faithful ``rng`` names.
FAITHFUL_RNGS: tuple[str, ...] = ("jax", "jax-0.4.38", "keras-torch", "tensorflow")


def tf_flavour(version: KerasVersion) -> str:
    """``"3"`` (Keras 3 seed folding) or ``"2"`` (tf_keras) for ``rng="tensorflow"``.

    Raises:
        InitializerArgumentError: Keras 1 and multi-backend Keras 2 (and tf.keras < 2.10)
            seeded stateful TF1 ops, whose values depend on the call history.
    """
    if version.major == 3:
        return "3"
    if version.major == 2 and version.at_least(2, 10):
        return "2"
    raise InitializerArgumentError(
        f"rng='tensorflow' reproduces Keras 3 and tf_keras >= 2.10 (stateless seeded ops); "
        f"{version.label()} used stateful TF1 random ops whose values depend on the call "
        f"history. Use keras_version='3' or '2', or rng='torch'."
    )


def check_faithful_version(rng: str, keras_version: KerasVersion) -> None:
    """Refuse a Keras version that ``rng`` has no exact stream for (before any draw).

    Example:
        >>> from kerasinit.mappings.versions import parse_version
        >>> check_faithful_version("tensorflow", parse_version("3"))
    """
    if rng == "tensorflow":
        tf_flavour(keras_version)
    elif (rng == "keras-torch" or rng.startswith("jax")) and keras_version.major != 3:
        backend = "torch" if rng == "keras-torch" else "JAX"
        raise InitializerArgumentError(
            f"rng={rng!r} reproduces Keras 3's {backend} backend; {keras_version.label()} "
            f"has none. Use rng='tensorflow' or rng='torch'."
        )


def check_torch_seed(seed: int, *, seed_generator: bool, keras_version: KerasVersion) -> None:
    """Refuse a seed Keras's torch backend refuses (``rng="keras-torch"``), before any draw.

    The backend's seed dtype is int32. An int seed is bit-cast to int32 since Keras 3.14
    (``(seed & 0xFFFFFFFF ^ 0x80000000) - 0x80000000``: any int works and wraps modulo 2^32)
    and raised outside int32 before. A ``SeedGenerator`` keeps ``[seed, 0]`` in an int32
    variable without that cast, so Keras 3.15.1 raises for seeds outside ``[-2**31, 2**31)``
    (``RuntimeError: value cannot be converted to type int32 without overflow``).

    Example:
        >>> from kerasinit.mappings.versions import parse_version
        >>> check_torch_seed(2**31, seed_generator=False, keras_version=parse_version("3.15"))
        >>> check_torch_seed(2**31, seed_generator=True, keras_version=parse_version("3.15"))
        Traceback (most recent call last):
        ...
        kerasinit.mappings.errors.InitializerArgumentError: Keras's torch backend ...
    """
    if -(2**31) <= seed < 2**31:
        return
    if seed_generator:
        raise InitializerArgumentError(
            f"Keras's torch backend raises for a SeedGenerator seed outside int32 (its state is "
            f"an int32 variable); received SeedGenerator(seed={seed}). Use a seed in "
            f"[-2**31, 2**31), or an int seed (bit-cast to int32 since Keras 3.14).")
    if not keras_version.torch_seed_bitcast:
        raise InitializerArgumentError(
            f"Keras {keras_version.label()} on the torch backend raises for seeds outside int32 "
            f"(the bit-cast to int32 came in 3.14); received seed={seed}. Use a seed in "
            f"[-2**31, 2**31) or keras_version='3.14' or later."
        )


def sample_keras(
    resolved: Resolved,
    *,
    seed: int | None,
    call_index: int,
    rng: str,
    keras_version: KerasVersion,
    dtype: torch.dtype,
    device: torch.device,
    out: torch.Tensor | Columns | None = None,
) -> torch.Tensor:
    """Keras's exact values for ``resolved`` (Keras layout, shape ``resolved.keras_shape``).

    Args:
        resolved: the distribution, Keras kernel shape and fans of one kernel block.
        seed: the initializer's int seed (None only for deterministic initializers).
        call_index: the draw number of a Keras ``SeedGenerator`` seed (0 for an int seed).
        rng: ``"tensorflow"``, ``"jax"``, ``"jax-0.4.38"`` or ``"keras-torch"``.
        keras_version: the Keras semantics (picks the seed rule).
        dtype: dtype of the result (sampled in float32, then cast).
        device: device of the result; Philox runs on it (CUDA included).
        out: a tensor of the Keras shape (any strides, e.g. a layout's ``to_keras`` view of a
            torch parameter) to write in place and return: the iid families go chunk by
            chunk, with no full-size temporary.

    Raises:
        InitializerArgumentError: no seed, or a Keras version without a faithful stream.
    """
    return sample_distribution(resolved.distribution, tuple(resolved.keras_shape), seed=seed,
                               call_index=call_index, rng=rng, keras_version=keras_version,
                               dtype=dtype, device=device, name=resolved.name, out=out)


def sample_distribution(
    dist: object,
    shape: tuple[int, ...],
    *,
    seed: int | None,
    call_index: int = 0,
    rng: str,
    keras_version: KerasVersion,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    name: str = "the initializer",
    out: torch.Tensor | Columns | None = None,
) -> torch.Tensor:
    """Keras's exact tensor (Keras layout ``shape``) for a resolved distribution and a seed.

    The entry point for whole-model replay: ``dist`` is ``Resolved.distribution``, ``seed`` the
    concrete integer seed Keras drew or was given, ``call_index`` the ``SeedGenerator`` draw.

    Example:
        >>> from kerasinit.mappings.distributions import Uniform
        >>> from kerasinit.mappings.versions import parse_version
        >>> t = sample_distribution(Uniform(-1.0, 1.0), (2, 3), seed=7, rng="jax",
        ...                         keras_version=parse_version("3"))
        >>> t.shape, t.dtype
        (torch.Size([2, 3]), torch.float32)
    """
    device = torch.device(device)
    if out is not None and (isinstance(dist, (Identity, Constant, STFT)) or seed is None):
        values = sample_distribution(dist, shape, seed=seed, call_index=call_index, rng=rng,
                                     keras_version=keras_version, dtype=dtype, device=device,
                                     name=name)
        write_flat(out, 0, values.reshape(-1))
        return as_tensor(out)
    if isinstance(dist, (Identity, Constant, STFT)):
        return keras_layout_values(dist, shape, dtype, device, None)
    if seed is None:
        raise InitializerArgumentError(
            f"rng={rng!r} needs a seeded initializer; {name} has seed=None."
        )
    check_faithful_version(rng, keras_version)
    if rng == "keras-torch":
        check_torch_seed(seed, seed_generator=call_index > 0, keras_version=keras_version)
        values = keras_torch.sample(dist, shape, seed, call_index, device, out)
    elif rng == "tensorflow":
        values = _tensorflow(dist, shape, seed, call_index, tf_flavour(keras_version), device,
                             out)
    elif rng.startswith("jax"):
        values = _jax(dist, shape, seed, call_index, rng, out)
        if out is None:
            values = values.to(device)
    else:  # pragma: no cover - Initializer validates rng
        raise InitializerArgumentError(f"Unknown seed-faithful rng {rng!r}.")
    return values if out is not None else values.to(dtype)


def fill_faithful(
    tensor: torch.Tensor, plan: Plan, *, rng: str, seed: int | None, call_index: int,
    keras_version: KerasVersion,
) -> torch.Tensor:
    """Write Keras's values for every block of a checked ``plan`` into ``tensor``, in place.

    Each block's Keras view (its layout's ``to_keras`` of the block's rows) is written
    directly when it is a view of ``tensor``, or, for ``"gru"``, its three gate blocks side by
    side (:class:`~kerasinit.bridge.rng.sink.Columns`); otherwise (reshapes of non-contiguous
    tensors, custom layouts that copy) the block's values are sampled whole in Keras layout
    and copied through ``to_torch``. Every argument must have been checked (nothing here
    fails for bad input once writing starts).
    """
    with torch.no_grad():
        for rows, block_layout, resolved in plan:
            target = tensor if rows is None else tensor[rows]
            kwargs: dict[str, Any] = dict(seed=seed, call_index=call_index, rng=rng,
                                          keras_version=keras_version, dtype=tensor.dtype,
                                          device=tensor.device)
            view = keras_target(target, block_layout, resolved.keras_shape)
            if view is not None:
                sample_keras(resolved, out=view, **kwargs)
            else:
                k = sample_keras(resolved, **kwargs)
                target.copy_(block_layout.to_torch(k, tuple(target.shape)))
    return tensor


def inplace_ok(rng: str, dist: object, out: torch.Tensor | Columns) -> bool:
    """Whether :func:`sample_distribution` can write ``out`` (Keras layout) chunk by chunk.

    Every stream writes uniform/normal/truncated-normal draws in place into a view of any
    strides, floating dtype and device (``rng="keras-torch"`` chunks on CPU only; elsewhere it
    samples whole and copies). Kept for callers that asked before.
    """
    return isinstance(dist, (Uniform, Normal, TruncatedNormal)) and out.dtype.is_floating_point


def _jax(dist: object, shape: tuple[int, ...], seed: int, call_index: int,
         rng: str, out: torch.Tensor | Columns | None = None) -> torch.Tensor:
    version = kj.version_of(rng)
    key = kj.jax_key(seed, call_index)
    if isinstance(dist, Uniform):
        return kj.sample_uniform(shape, key, dist.low, dist.high, version, out)
    if isinstance(dist, Normal):
        return kj.sample_normal(shape, key, dist.mean, dist.std, version, out)
    if isinstance(dist, TruncatedNormal):
        return kj.sample_truncated_normal(shape, key, dist.mean, dist.std, version, out)
    if isinstance(dist, Orthogonal):
        return kj.sample_orthogonal(shape, key, dist.gain, version, out)
    raise InitializerArgumentError(  # pragma: no cover - every random family is handled
        f"No seed-faithful sampler for {dist!r}."
    )


def _tensorflow(
    dist: object, shape: tuple[int, ...], seed: int, call_index: int, flavour: str,
    device: torch.device, out: torch.Tensor | Columns | None = None,
) -> torch.Tensor:
    pair = tfr.tf_seed_pair(seed, flavour, call_index)
    if isinstance(dist, Uniform):
        return tfr.uniform(shape, pair, dist.low, dist.high, device, out)
    if isinstance(dist, Normal):
        return tfr.normal(shape, pair, dist.mean, dist.std, device, out)
    if isinstance(dist, TruncatedNormal):
        return tfr.truncated_normal(shape, pair, dist.mean, dist.std, device, out)
    if isinstance(dist, Orthogonal):
        return orthogonal(shape, dist.gain,
                          lambda a: tfr.normal(tuple(a.shape), pair, 0.0, 1.0, device, a),
                          mode="float64", out=out, device=device)
    raise InitializerArgumentError(  # pragma: no cover - every random family is handled
        f"No seed-faithful sampler for {dist!r}."
    )
