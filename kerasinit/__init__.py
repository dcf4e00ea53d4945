"""kerasinit: initialize PyTorch weights exactly as Keras does.

>>> import torch, kerasinit
>>> w = torch.empty(256, 784)                     # nn.Linear(784, 256).weight
>>> _ = kerasinit.get("he_normal")(w)              # Keras he_normal for Dense(256) on 784 inputs
>>> bool(w.abs().max() <= 2 * (2 / 784) ** 0.5 / 0.87962566103423978)
True

Every public name loads on first use (PEP 562), so ``import kerasinit.mappings`` (pure data)
does not import torch: the tensor level (:mod:`kerasinit.bridge`) loads when a name from it is
first touched, the heavier parts (:mod:`kerasinit.nn`, :mod:`kerasinit.parity` with TensorFlow
inside, :mod:`kerasinit.porting`) likewise.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from kerasinit._version import __version__ as __version__

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and readers
    from kerasinit import bridge as bridge
    from kerasinit import layouts as layouts
    from kerasinit import mappings as mappings
    from kerasinit import modules as modules
    from kerasinit import nn as nn
    from kerasinit import parity as parity
    from kerasinit import porting as porting
    from kerasinit.bridge.functional import (
        constant_,
        glorot_normal_,
        glorot_uniform_,
        he_normal_,
        he_uniform_,
        identity_,
        lecun_normal_,
        lecun_uniform_,
        ones_,
        orthogonal_,
        random_normal_,
        random_uniform_,
        stft_,
        truncated_normal_,
        variance_scaling_,
        zeros_,
    )
    from kerasinit.bridge.initializer import Initializer, describe, get
    from kerasinit.mappings.errors import (
        InitializerArgumentError,
        KerasInitError,
        LayoutError,
        UnknownInitializerError,
        UnsupportedInitializerError,
        UnsupportedVersionError,
    )
    from kerasinit.mappings.resolve import Resolved
    from kerasinit.modules.apply import initialize, keras_defaults_

__all__ = [
    "Initializer",
    "InitializerArgumentError",
    "KerasInitError",
    "LayoutError",
    "Resolved",
    "UnknownInitializerError",
    "UnsupportedInitializerError",
    "UnsupportedVersionError",
    "constant_",
    "describe",
    "get",
    "glorot_normal_",
    "glorot_uniform_",
    "he_normal_",
    "he_uniform_",
    "identity_",
    "initialize",
    "keras_defaults_",
    "layouts",
    "lecun_normal_",
    "lecun_uniform_",
    "ones_",
    "orthogonal_",
    "random_normal_",
    "random_uniform_",
    "stft_",
    "truncated_normal_",
    "variance_scaling_",
    "zeros_",
]

#: public name -> module that defines it (everything not listed is a submodule)
_HOMES = {
    "Initializer": "kerasinit.bridge.initializer",
    "describe": "kerasinit.bridge.initializer",
    "get": "kerasinit.bridge.initializer",
    "Resolved": "kerasinit.mappings.resolve",
    "initialize": "kerasinit.modules.apply",
    "keras_defaults_": "kerasinit.modules.apply",
}
_SUBMODULES = {
    "bridge": "bridge", "mappings": "mappings", "modules": "modules", "nn": "nn",
    "parity": "parity", "porting": "porting", "layouts": "layouts"}


def _home(name: str) -> str | None:
    if name in _HOMES:
        return _HOMES[name]
    if name.endswith("Error") and name in __all__:
        return "kerasinit.mappings.errors"
    if name.endswith("_") and name in __all__:
        return "kerasinit.bridge.functional"
    return None


def __getattr__(name: str) -> object:
    home = _home(name)
    if name in _SUBMODULES:
        value: object = importlib.import_module(f"kerasinit.{_SUBMODULES[name]}")
    elif home is not None:
        value = getattr(importlib.import_module(home), name)
    else:
        raise AttributeError(f"module 'kerasinit' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
