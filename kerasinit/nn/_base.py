"""Shared machinery of the Keras-style layers: validate the Keras keywords before the torch
constructor runs, store them as plain data, and re-apply them in ``reset_parameters()``.

The configuration lives in plain attributes (``keras_initializers``: keyword -> serialized Keras
config; ``keras_version``: str; ``seed``; ``rng``; ``generator``), so ``copy.deepcopy``,
``pickle``/``torch.save``, ``torch.jit.script`` (+ ``torch.jit.save``) and ``torch.compile``
work as with the plain torch module.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from kerasinit.bridge.initializer import RngName
from kerasinit.mappings.versions import VersionLike, parse_version
from kerasinit.modules.apply import (
    ModuleKeywordError,
    bind,
    initialize,
    keras_defaults,
    parse_keywords,
)

__all__ = ["KerasConfig", "KerasLayerMixin", "configure", "final_device", "private_generator",
           "uninitialized"]

#: layer -> (its serialized initializers, the same parsed once): reset_parameters() reuses the
#: parsed ones while the serialized config is unchanged. Not module state (pickling, deepcopy
#: and TorchScript never see it); a copied or unpickled layer parses its config again.
_PARSED: weakref.WeakKeyDictionary[nn.Module, tuple[dict[str, Any], dict[str, Any]]] = (
    weakref.WeakKeyDictionary())

#: TorchScript must not try to type these (a Generator cannot be saved by torch.jit.save).
JIT_IGNORED = ["keras_initializers", "generator"]


@dataclass(frozen=True)
class KerasConfig:
    """Validated Keras configuration of one layer (plain, picklable data)."""

    keras_layer: str
    initializers: dict[str, Any]
    keras_version: str
    seed: int | None
    rng: RngName | None
    parsed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def configure(
    cls_name: str,
    keras_layer: str,
    given: Mapping[str, object],
    present: Mapping[str, bool],
    keras_version: VersionLike,
    seed: int | None,
    rng: RngName | None,
) -> KerasConfig:
    """Resolve the Keras keywords of a layer (None -> the Keras default); raise before building.

    Args:
        cls_name: the kerasinit.nn class (for messages).
        keras_layer: the Keras layer whose defaults apply (``"Dense"``, ``"LSTM"``).
        given: keyword -> identifier as passed (None = Keras default).
        present: keyword -> whether the torch layer will have that weight (``bias=False`` ...).
        keras_version, seed, rng: as in :func:`kerasinit.initialize`.

    Raises:
        KerasInitError: bad identifier, version, seed/rng, or a keyword for a missing weight.
    """
    version = parse_version(keras_version)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ModuleKeywordError(f"{cls_name}: `seed` must be an int or None. Received: {seed!r}.")
    defaults = keras_defaults(keras_layer, version)
    config: dict[str, Any] = {}
    for key, value in given.items():
        has = present.get(key, True)
        if value is None:
            if has:
                config[key] = defaults[key]
            continue
        if not has:
            raise ModuleKeywordError(
                f"{cls_name} was given {key}={value!r}, but it has no weight for it (e.g. "
                f"bias=False / affine=False). Drop {key} or enable that weight.")
        config[key] = value
    bases, forget = parse_keywords(config, version)  # checks keywords, types, identifiers
    for base in bases.values():
        bind(base, seed, rng)  # checks seed and rng
    parsed: dict[str, Any] = dict(bases)
    if forget is not None:
        parsed["unit_forget_bias"] = forget
    for key in config:  # canonical, picklable form
        config[key] = forget if key == "unit_forget_bias" else bases[key].serialize()
    return KerasConfig(keras_layer, config, str(version), seed, rng, parsed)


class KerasLayerMixin:
    """Mixed into each kerasinit.nn layer, before the torch class in the bases."""

    __jit_ignored_attributes__ = JIT_IGNORED
    #: True for composite layers whose weights sit in child modules (SeparableConv).
    _keras_recurse = False

    def _keras_setup(self, config: KerasConfig, generator: torch.Generator | None) -> None:
        self.keras_layer = config.keras_layer
        self.keras_initializers = config.initializers
        self.keras_version = config.keras_version
        self.seed = config.seed
        self.rng = config.rng
        self.generator = generator
        if config.parsed:
            assert isinstance(self, nn.Module)
            _PARSED[self] = (dict(config.initializers), config.parsed)

    def _keras_reset(self) -> bool:
        """Apply the Keras initializers; False while the torch constructor is still running."""
        config = self.__dict__.get("keras_initializers")
        if config is None:
            return False
        assert isinstance(self, nn.Module)
        if not isinstance(config, Mapping):
            raise ModuleKeywordError(
                f"{type(self).__name__}.keras_initializers must be a dict of Keras keyword -> "
                f"initializer (as the constructor stores it). Received: {config!r:.80}.")
        cached = _PARSED.get(self)
        keywords = cached[1] if cached is not None and cached[0] == config else config
        initialize(self, recurse=self._keras_recurse, keras_version=self.keras_version,
                   generator=self.generator, rng=self.rng, seed=self.seed, **keywords)
        return True

    def reset_parameters(self) -> None:
        """Re-initialize with the layer's Keras initializers (a no-op while torch's own
        constructor runs: it calls ``reset_parameters`` before the Keras config exists)."""
        self._keras_reset()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._keras_repr()}"  # type: ignore[misc]

    def keras_config(self) -> dict[str, Any]:
        """The Keras side of this layer: layer class, version, initializer configs, seed, rng.

        ``json.dumps`` works on it; ``type(layer)(..., **initializers)`` rebuilds the same init.
        """
        return {"keras_layer": self.keras_layer, "keras_version": self.keras_version,
                "initializers": dict(self.keras_initializers), "seed": self.seed,
                "rng": self.rng}

    def _keras_repr(self) -> str:
        parts = []
        for key, value in self.keras_initializers.items():
            shown = value.get("class_name", value) if isinstance(value, dict) else value
            parts.append(f"{key}={shown}")
        parts.append(f"keras_version={self.keras_version!r}")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return ", ".join(parts)


def torch_uniform_(tensor: torch.Tensor, bound: float, generator: torch.Generator | None) -> None:
    """torch's own default for weights with no Keras counterpart (U(-bound, bound))."""
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)


def final_device(device: Any) -> torch.device:
    """Where a module built on ``meta`` must be materialized (``device`` or torch's default)."""
    return torch.device(device) if device is not None else torch.get_default_device()


def uninitialized(cls: type[nn.Module], *args: Any, device: Any = None, **kwargs: Any) -> Any:
    """``cls(*args, **kwargs)`` without torch's default initialization.

    Built on the meta device (where torch's own ``reset_parameters`` draws nothing), then
    materialized with uninitialized storage, which the Keras initializers then fill: a seeded
    kerasinit layer never advances torch's global RNG.
    """
    return cls(*args, device="meta", **kwargs).to_empty(device=final_device(device))


def private_generator(generator: torch.Generator | None, seed: int | None,
                      device: torch.device) -> torch.Generator | None:
    """For weights with no Keras counterpart: ``generator``, else a private generator seeded
    from the layer's ``seed`` (so a seeded layer never uses the global RNG), else None."""
    if generator is not None or seed is None:
        return generator
    return torch.Generator(device=device).manual_seed(seed % (1 << 64))
