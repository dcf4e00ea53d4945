"""The :class:`Initializer`: a Keras initializer as an in-place torch initializer.

``kerasinit.get(identifier)`` returns one. Calling it on a tensor fills the tensor in place
(under ``torch.no_grad()``) with Keras's exact distribution, computed with Keras's fans on the
Keras kernel that corresponds to the tensor (see :mod:`kerasinit.bridge.layouts`), and returns
the same tensor object.

Seeds follow Keras: a seeded initializer samples from its own fresh ``torch.Generator`` on
every call, so it returns identical values every time (as Keras 3 and tf_keras >= 2.10 do).
A Keras ``SeedGenerator`` seed advances per call instead. An explicit ``generator=`` always
wins over the seed. Unseeded initializers use ``generator=`` or torch's global RNG, like
``torch.nn.init``. Nothing else touches torch's global RNG state.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, overload

import torch

from kerasinit.bridge.calls import (
    RNGS,
    RngName,
    check_dtype,
    check_faithful_call,
    check_layout,
    check_rng,
    check_shape,
    fill_torch,
    plan_blocks,
)
from kerasinit.bridge.checks import check_generator, check_tensor, check_values
from kerasinit.bridge.distributed import fill_dtensor, is_dtensor
from kerasinit.bridge.faithful import fill_faithful
from kerasinit.bridge.interop import (
    is_shape,
    keras_shape_and_dtype,
    substitute_custom,
    with_class_name,
)
from kerasinit.bridge.layouts import Layout, LayoutLike, LayoutName, Packed
from kerasinit.bridge.samplers import Plan
from kerasinit.mappings.errors import InitializerArgumentError, shown
from kerasinit.mappings.parse import object_version, parse_identifier
from kerasinit.mappings.resolve import Resolved, check_fans
from kerasinit.mappings.specs import Spec
from kerasinit.mappings.versions import KerasVersion, VersionLike, parse_version

__all__ = ["RNGS", "Initializer", "RngName", "describe", "get"]


class Initializer:
    """A Keras initializer bound to a Keras version, applied in place to torch tensors.

    Args:
        spec: the Keras initializer spec (see :func:`get` to build one from any identifier).
        keras_version: Keras semantics to follow (``"3"`` latest release 3.15, ``"3.16"``,
            ``"3.14"``, ``"2"``, ...; see ``docs/versions.md``).
        rng: ``"torch"`` (default), or a seed-faithful stream: ``"tensorflow"`` (Keras on the TF
            backend), ``"jax"`` (Keras 3 on JAX, jax/jaxlib 0.10.x; ``"jax-0.4.38"`` for that
            line) or ``"keras-torch"`` (Keras 3 on the torch backend); those need a seed.

    Example:
        >>> import torch, kerasinit
        >>> w = torch.empty(256, 784)                  # nn.Linear(784, 256).weight
        >>> init = kerasinit.get("he_uniform")
        >>> bool(init(w, generator=torch.Generator().manual_seed(0)).abs().max() <= (6 / 784) ** 0.5)
        True
    """

    __slots__ = ("_calls", "_lock", "keras_version", "rng", "spec")

    def __init__(self, spec: Spec, keras_version: VersionLike = None,
                 rng: RngName | None = "torch") -> None:
        self.spec = spec
        self.keras_version: KerasVersion = parse_version(keras_version)
        self.rng = check_rng(rng)
        if self.rng != "torch" and getattr(spec, "seed", None) is None and spec.is_random:
            raise InitializerArgumentError(
                f"rng={rng!r} reproduces Keras's values for a given seed, so it needs a seed. "
                f"{spec.class_name} has seed=None; pass seed=... (or a config with a seed)."
            )
        self._calls = 0
        self._lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Canonical Keras name (``'he_normal'``)."""
        return self.spec.name

    @property
    def class_name(self) -> str:
        """Keras class name (``'HeNormal'``)."""
        return self.spec.class_name

    def get_config(self) -> dict[str, Any]:
        """Keras 3 ``get_config()`` of the initializer."""
        return self.spec.get_config()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, class_name: str | None = None,
                    keras_version: VersionLike = None) -> Initializer:
        """Keras's ``from_config``: an Initializer from a config.

        Keras knows the class from ``cls``; kerasinit has one class, so a bare
        ``get_config()`` dict needs ``class_name=`` (a full serialized dict names its own).

        Example:
            >>> import kerasinit
            >>> init = kerasinit.get("he_normal", seed=3)
            >>> kerasinit.Initializer.from_config(init.get_config(), class_name="HeNormal") == init
            True
        """
        if class_name is None and not (isinstance(config, Mapping) and "class_name" in config):
            raise InitializerArgumentError(
                f"A bare get_config() dict does not name its class: pass class_name= (e.g. "
                f"'HeNormal'), or a serialized dict with 'class_name'. Received: {shown(config)}.")
        return get(config, class_name=class_name, keras_version=keras_version)

    def serialize(self) -> dict[str, Any]:
        """Keras 3 serialized form (``{"module", "class_name", "config", "registered_name"}``)."""
        return self.spec.serialize()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        extra = "" if self.rng == "torch" else f", rng={self.rng!r}"
        return (f"kerasinit.Initializer({self.class_name}({args}), "
                f"keras_version={str(self.keras_version)!r}{extra})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Initializer) and other.spec == self.spec
                and other.keras_version == self.keras_version and other.rng == self.rng)

    def __hash__(self) -> int:
        return hash((self.spec, self.keras_version, self.rng))

    # -- pickle / copy: the call counter travels, the lock is per object -----------------
    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "keras_version": self.keras_version, "rng": self.rng,
                "_calls": self._calls}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.spec = state["spec"]
        self.keras_version = state["keras_version"]
        self.rng = state["rng"]
        self._calls = int(state.get("_calls", 0))
        self._lock = threading.Lock()

    # -- resolution ----------------------------------------------------------------------
    @overload
    def describe(self, shape: Sequence[int], *, layout: Packed,  # type: ignore[overload-overlap]
                 fans: tuple[float, float] | None = None) -> tuple[Resolved, ...]: ...

    @overload
    def describe(self, shape: Sequence[int], *, layout: LayoutName | Layout = "torch",
                 fans: tuple[float, float] | None = None) -> Resolved: ...

    def describe(
        self, shape: Sequence[int], *, layout: LayoutLike = "torch",
        fans: tuple[float, float] | None = None,
    ) -> Resolved | tuple[Resolved, ...]:
        """The exact distribution(s) for a torch tensor of ``shape`` (one per packed block).

        Returns one :class:`Resolved`, or a tuple of them (one per block) for a
        :class:`~kerasinit.bridge.layouts.Packed` layout such as ``mha_in_proj(h)``; the
        overloads tell type checkers which.

        Example:
            >>> import kerasinit
            >>> r = kerasinit.get("he_normal").describe((256, 784))
            >>> (r.fan_in, r.fan_out, round(r.distribution.realised_std, 6))
            (784.0, 256.0, 0.050508)
        """
        plan = plan_blocks(self.spec, self.keras_version, check_layout(layout),
                           check_shape(shape), None if fans is None else check_fans(fans))
        resolved = tuple(r for _, _, r in plan)
        return resolved[0] if plan[0][0] is None else resolved

    # -- sampling ------------------------------------------------------------------------
    def __call__(
        self,
        tensor: torch.Tensor | Sequence[int],
        dtype: str | torch.dtype | None = None,
        *,
        layout: LayoutLike = "torch",
        fans: tuple[float, float] | None = None,
        generator: torch.Generator | None = None,
        rng: RngName | None = None,
    ) -> torch.Tensor:
        """Fill ``tensor`` in place with this Keras initializer; return the same tensor.

        Args:
            tensor: a floating-point tensor (float16/bfloat16/float32/float64) on any device;
                constant initializers also accept integer and bool tensors. Or, as Keras calls
                an initializer, a **Keras** shape: ``init((784, 256), dtype="float32")``
                returns a new tensor of that shape (layout ``"keras"``).
            dtype: only with a shape: a Keras dtype name or a torch dtype (default: torch's
                default dtype).
            layout: how the torch axes map to Keras's kernel layout (``"torch"``, ``"keras"``,
                ``"embedding"``, ``"gru"``, or a layout object such as ``Depthwise(4)``).
            fans: ``(fan_in, fan_out)`` to use instead of the layout's Keras fans.
            generator: torch generator to sample from (wins over the initializer's seed).
            rng: override the initializer's ``rng`` for this call.

        Raises:
            KerasInitError: (a ValueError) for a tensor, layout or fans that do not fit;
                raised before the tensor is touched.
        """
        if not isinstance(tensor, torch.Tensor) and is_shape(tensor):  # Keras-style init(shape)
            shape, torch_dtype = keras_shape_and_dtype(tensor, dtype)
            return self(torch.empty(shape, dtype=torch_dtype),
                        layout="keras" if layout == "torch" else layout, fans=fans,
                        generator=generator, rng=rng)
        if dtype is not None:
            raise InitializerArgumentError(
                f"dtype= goes with a shape (the Keras-style call init(shape, dtype)); a tensor "
                f"keeps its own dtype. Received: dtype={dtype!r} with a {type(tensor).__name__}.")
        # The validation boundary: nothing below may fail for bad input once writing starts.
        plan, rng_name = self._checked_plan(tensor, layout, fans, generator, rng)
        assert isinstance(tensor, torch.Tensor)  # _checked_plan raised otherwise
        return self.fill_planned(tensor, plan, layout=layout, fans=fans, generator=generator,
                                 rng=rng_name)

    def plan(
        self, tensor: torch.Tensor, *, layout: LayoutLike = "torch",
        fans: tuple[float, float] | None = None, generator: torch.Generator | None = None,
        rng: RngName | None = None,
    ) -> Plan:
        """Check a call (tensor, layout, fans, dtype, generator, rng) and return its fill plan.

        The plan holds one ``(rows, layout, Resolved)`` per block; :meth:`fill_planned` writes
        it without checking again (so a module can check every tensor before writing any).

        Example:
            >>> import torch, kerasinit
            >>> plan = kerasinit.get("glorot_uniform").plan(torch.empty(3, 5))
            >>> [(rows, r.keras_shape, r.fan_in, r.fan_out) for rows, _, r in plan]
            [(None, (5, 3), 5.0, 3.0)]
        """
        return self._checked_plan(tensor, layout, fans, generator, rng)[0]

    def _checked_plan(self, tensor: object, layout: LayoutLike,
                      fans: tuple[float, float] | None, generator: torch.Generator | None,
                      rng: RngName | None) -> tuple[Plan, RngName]:
        """:meth:`plan` and the checked rng name (each check made once per call)."""
        owner = self.class_name
        checked = check_tensor(tensor, owner)
        rng_name = self.rng if rng is None else check_rng(rng)
        plan = plan_blocks(self.spec, self.keras_version, check_layout(layout),
                           tuple(checked.shape), None if fans is None else check_fans(fans))
        check_dtype(checked, plan, owner)
        check_generator(generator, checked, owner)
        check_values([r.distribution for _, _, r in plan], checked.dtype, rng_name, owner)
        if rng_name != "torch":
            check_faithful_call(self.spec, self.keras_version, rng_name, generator)
        return plan, rng_name

    def fill_planned(
        self, tensor: torch.Tensor, plan: Plan, *, layout: LayoutLike = "torch",
        fans: tuple[float, float] | None = None, generator: torch.Generator | None = None,
        rng: RngName | None = None,
    ) -> torch.Tensor:
        """Fill ``tensor`` by the plan :meth:`plan` returned for the same arguments."""
        rng_name = self.rng if rng is None else rng
        if tensor.numel() == 0 or tensor.is_meta:
            return tensor
        if is_dtensor(tensor):  # sharded (FSDP2 / tensor parallel): see bridge/distributed.py
            return fill_dtensor(
                tensor, plan,
                lambda full: self(full, layout=layout, fans=fans, generator=generator, rng=rng_name),
                seeded=getattr(self.spec, "seed", None) is not None, generator=generator,
                rng=rng_name)
        seed = getattr(self.spec, "seed", None)
        with self._lock:
            call_index = self._calls
            self._calls += 1
        if rng_name != "torch" and self.spec.is_random:
            # deterministic initializers have no stream: the in-place torch path writes the
            # same values without a full-size intermediate
            index = call_index if getattr(self.spec, "advancing_seed", False) else 0
            return fill_faithful(tensor, plan, rng=rng_name, seed=seed, call_index=index,
                                 keras_version=self.keras_version)
        if generator is not None or seed is None or not self.spec.is_random:
            return fill_torch(tensor, plan, generator=generator)
        advancing = getattr(self.spec, "advancing_seed", False)
        return fill_torch(tensor, plan, seed=seed, call_index=call_index if advancing else 0)

    def validate(
        self,
        tensor: torch.Tensor,
        *,
        layout: LayoutLike = "torch",
        fans: tuple[float, float] | None = None,
        generator: torch.Generator | None = None,
        rng: RngName | None = None,
    ) -> None:
        """Every check ``self(tensor, ...)`` makes, without writing or drawing anything.

        Whole-module calls (``initialize``, ``keras_defaults_``, ``Plan.apply``) validate every
        tensor first, so a failure leaves all of them untouched.

        Raises:
            KerasInitError: exactly what the call would raise.

        Example:
            >>> import torch, kerasinit
            >>> kerasinit.get("he_normal").validate(torch.zeros(4, 4, dtype=torch.int8))
            Traceback (most recent call last):
            ...
            kerasinit.mappings.errors.LayoutError: HeNormal samples floating-point values; ...
        """
        self.plan(tensor, layout=layout, fans=fans, generator=generator, rng=rng)


def get(
    identifier: object,
    *,
    keras_version: VersionLike = None,
    seed: int | None = None,
    rng: RngName | None = "torch",
    class_name: str | None = None,
    custom_objects: Mapping[str, object] | None = None,
) -> Initializer:
    """Any Keras initializer identifier -> an in-place torch :class:`Initializer`.

    Args:
        identifier: a Keras name or alias (``"glorot_uniform"``, ``"HeNormal"``, ``"normal"``,
            Keras 1 ``"zero"``), a serialized config in any Keras 1/2/3 form (with or without
            ``module``/``registered_name``), a JSON string of one, a Keras or tf_keras
            initializer object or class (duck-typed, Keras is not imported), or an Initializer.
        keras_version: Keras semantics to follow; default the latest Keras 3 (Keras 2 for a
            tf_keras object, and the Initializer's own version for an Initializer). Also changes
            which historical meaning old configs get (e.g. ``"2.0.8"``).
        seed: set (or replace) the seed of a random initializer.
        rng: ``"torch"``, ``"tensorflow"``, ``"jax"``, ``"jax-0.4.38"`` or ``"keras-torch"``
            (see :class:`Initializer`); None means the default, ``"torch"``.
        class_name: the Keras class of a bare ``get_config()`` dict (``"HeNormal"``).
        custom_objects: custom initializer names -> any identifier kerasinit accepts
            (``{"MyInit": "he_normal"}``), as in ``porting.read``; Keras's own classes cannot
            be run (files and configs are data). Keras 3.16 finds a custom initializer from
            a config dict only, so with ``keras_version="3.16"`` a plain-string custom name
            is refused (``UnknownInitializerError``), as Keras 3.16 refuses it.

    Raises:
        UnknownInitializerError: unknown name, with a did-you-mean that knows torch names.
        InitializerArgumentError: bad arguments in the config.

    Example:
        >>> import kerasinit
        >>> kerasinit.get("xavier_uniform")
        Traceback (most recent call last):
        ...
        kerasinit.mappings.errors.UnknownInitializerError: Unknown Keras initializer 'xavier_uniform'. Did you mean 'glorot_uniform' (Keras's name for torch's xavier_uniform_)? ...
        >>> kerasinit.get({"class_name": "VarianceScaling", "config": {"scale": 2.0}}).describe((8, 4)).fan_in
        4.0
    """
    if class_name is not None:
        identifier = with_class_name(identifier, class_name)
    version = parse_version(keras_version)
    identifier = substitute_custom(identifier, custom_objects, version.custom_names_by_string)
    if keras_version is None:
        version = object_version(identifier) or version
    if isinstance(identifier, Initializer):
        spec = identifier.spec
        if keras_version is None:
            version = identifier.keras_version
    else:
        spec = parse_identifier(identifier, version)
    if seed is not None:
        if not spec.is_random:
            raise InitializerArgumentError(
                f"{spec.class_name} is deterministic and takes no seed. Received: seed={seed!r}."
            )
        spec = spec.replace(seed=seed, advancing_seed=False)
    return Initializer(spec, version, rng)


@overload
def describe(identifier: object, shape: Sequence[int], *, layout: Packed,  # type: ignore[overload-overlap]
             fans: tuple[float, float] | None = None,
             keras_version: VersionLike = None) -> tuple[Resolved, ...]: ...


@overload
def describe(identifier: object, shape: Sequence[int], *, layout: LayoutName | Layout = "torch",
             fans: tuple[float, float] | None = None,
             keras_version: VersionLike = None) -> Resolved: ...


def describe(
    identifier: object,
    shape: Sequence[int],
    *,
    layout: LayoutLike = "torch",
    fans: tuple[float, float] | None = None,
    keras_version: VersionLike = None,
) -> Resolved | tuple[Resolved, ...]:
    """The exact distribution ``identifier`` gives a torch tensor of ``shape``.

    Returns the :class:`~kerasinit.mappings.resolve.Resolved` distribution (family and
    parameters, the Keras shape, the fans used and where they came from); a tuple of them for
    packed layouts (one per block).

    Example:
        >>> import kerasinit
        >>> print(kerasinit.describe("he_normal", (64, 1, 3, 3), layout=kerasinit.layouts.Depthwise(1)))
        he_normal on Keras shape (3, 3, 64, 1) (fan_in=576, fan_out=9; Keras rank rule (modern); Keras 3.15 (latest)): TN(mean=0, std=0.0669894, cut [-0.133979, 0.133979]; realised std 0.0589256)
    """
    return get(identifier, keras_version=keras_version).describe(shape, layout=layout, fans=fans)
