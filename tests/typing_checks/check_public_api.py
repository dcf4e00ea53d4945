"""Typing test: ``mypy --strict`` accepts the correct calls and rejects the marked wrong ones.

mypy checks this file with the package (``[tool.mypy] files`` in pyproject.toml) and with
``warn_unused_ignores`` on for it, so every ``# type: ignore[code]`` below must still be an
error of that code: if a wrong call started to type-check, mypy would fail on the unused
ignore. The calls sit in functions that are never run (pytest's doctest collection imports
this module).
"""

from __future__ import annotations

from typing import Protocol

import torch
from typing_extensions import assert_type

import kerasinit
from kerasinit import layouts
from kerasinit import nn as knn
from kerasinit.bridge.initializer import RngName
from kerasinit.mappings.resolve import Resolved
from kerasinit.mappings.versions import VersionLike
from kerasinit.modules.report import InitReport


class _KerasDefaults(Protocol):
    """``keras_defaults_``'s exact signature: the lazy export must expose it to mypy."""

    def __call__(self, module: torch.nn.Module, *, keras_version: VersionLike = None,
                 generator: torch.Generator | None = None, rng: RngName | None = "torch",
                 seed: int | None = None, recurse: bool = True) -> InitReport: ...


class _Initialize(Protocol):
    """``initialize``'s exact signature (initializers by Keras keyword)."""

    def __call__(self, module: torch.nn.Module, *, keras_version: VersionLike = None,
                 generator: torch.Generator | None = None, rng: RngName | None = "torch",
                 seed: int | None = None, recurse: bool = True,
                 **initializers: object) -> InitReport: ...


def module_level_signatures(model: torch.nn.Module, g: torch.Generator) -> None:
    """mypy sees the real signatures of the lazily exported ``initialize`` / ``keras_defaults_``
    (through ``kerasinit``'s ``TYPE_CHECKING`` imports), not ``Any``."""
    defaults: _KerasDefaults = kerasinit.keras_defaults_
    init: _Initialize = kerasinit.initialize
    assert_type(defaults(model), InitReport)
    assert_type(init(model), InitReport)
    assert_type(kerasinit.initialize(module=model, bias_initializer="zeros"), InitReport)
    assert_type(kerasinit.keras_defaults_(model, keras_version="2", generator=g, recurse=False),
                InitReport)
    assert_type(kerasinit.modules.keras_defaults_(model), InitReport)
    kerasinit.keras_defaults_(model, kernel_initializer="he_normal")  # type: ignore[call-arg]
    kerasinit.keras_defaults_(model=model)  # type: ignore[call-arg]
    kerasinit.initialize()  # type: ignore[call-arg]
    kerasinit.initialize(model, "he_normal")  # type: ignore[call-arg]
    kerasinit.initialize(model, recurse="yes")  # type: ignore[arg-type]
    kerasinit.keras_defaults_(model, seed="0")  # type: ignore[arg-type]
    kerasinit.keras_defaults_(model, generator=0)  # type: ignore[arg-type]
    n: int = kerasinit.keras_defaults_(model)  # type: ignore[assignment]
    del n


def correct_calls(w: torch.Tensor, model: torch.nn.Module, g: torch.Generator) -> None:
    """Calls as the README writes them; their types are exact."""
    init = kerasinit.get("he_normal")
    assert_type(init, kerasinit.Initializer)
    assert_type(init(w), torch.Tensor)
    assert_type(init(w, layout="embedding", generator=g), torch.Tensor)
    assert_type(init(w, layout=layouts.Depthwise(4)), torch.Tensor)
    assert_type(kerasinit.get("glorot_uniform", seed=7, rng="tensorflow"), kerasinit.Initializer)
    assert_type(kerasinit.get("glorot_uniform", rng=None), kerasinit.Initializer)
    assert_type(kerasinit.describe("he_normal", (256, 784)), Resolved)
    assert_type(kerasinit.describe("he_normal", (9, 1, 3, 3), layout="depthwise"), Resolved)
    assert_type(kerasinit.describe("glorot_uniform", (24, 8), layout=layouts.mha_in_proj(2)),
                tuple[Resolved, ...])
    assert_type(init.describe((4, 3)).fan_in, float)
    assert_type(kerasinit.he_normal_(w, generator=g), torch.Tensor)
    assert_type(kerasinit.truncated_normal_(w, std=0.02), torch.Tensor)
    assert_type(kerasinit.random_uniform_(w, a=-1.0, b=1.0, seed=3), torch.Tensor)
    assert_type(kerasinit.glorot_uniform_(w, gain=2.0), torch.Tensor)

    def init_one(m: torch.nn.Module) -> None:
        kerasinit.initialize(m, recurse=False, kernel_initializer="he_normal")

    assert_type(model.apply(init_one), torch.nn.Module)
    assert_type(kerasinit.variance_scaling_(w, 2.0, "fan_avg", "uniform"), torch.Tensor)
    assert_type(kerasinit.initialize(model, kernel_initializer="he_normal", rng="torch"),
                InitReport)
    assert_type(kerasinit.keras_defaults_(model, seed=0), InitReport)
    assert_type(knn.Linear(784, 256, kernel_initializer="he_normal", rng="keras-torch", seed=1),
                knn.Linear)
    assert_type(kerasinit.__version__, str)
    assert_type(init((784, 256), dtype="float32"), torch.Tensor)  # Keras-style call
    assert_type(kerasinit.Initializer.from_config({"seed": 1}, class_name="HeNormal"),
                kerasinit.Initializer)
    assert_type(kerasinit.get("MyInit", custom_objects={"MyInit": "he_normal"}),
                kerasinit.Initializer)


def wrong_calls(w: torch.Tensor, model: torch.nn.Module) -> None:
    """Typos and wrong kinds that must stay type errors."""
    kerasinit.get("he_normal", rng="tensorflw")  # type: ignore[arg-type]
    kerasinit.get("he_normal")(w, layout="embeding")  # type: ignore[arg-type]
    kerasinit.describe("he_normal", (4, 3), layout="dephtwise")  # type: ignore[call-overload]
    kerasinit.variance_scaling_(w, mode="fan_inn")  # type: ignore[arg-type]
    kerasinit.variance_scaling_(w, distribution="normal")  # type: ignore[arg-type]
    kerasinit.initialize(model, rng="tf")  # type: ignore[arg-type]
    kerasinit.keras_defaults_(model, rng="numpy")  # type: ignore[arg-type]
    knn.Linear(3, 4, rng="jax-0.6")  # type: ignore[arg-type]
    kerasinit.get("he_normal")("not a tensor")  # type: ignore[arg-type]
    kerasinit.he_normal_(w, 2)  # type: ignore[call-arg]  # torch's `a` is not a seed
    kerasinit.truncated_normal_(w, std="0.02")  # type: ignore[arg-type]
    r: Resolved = kerasinit.describe("glorot_uniform", (24, 8),  # type: ignore[assignment]
                                     layout=layouts.mha_in_proj(2))
    del r
