"""kerasinit: initialize PyTorch weights exactly as Keras does.

>>> import torch, kerasinit
>>> w = torch.empty(256, 784)                     # nn.Linear(784, 256).weight
>>> _ = kerasinit.get("he_normal")(w)              # Keras he_normal for Dense(256) on 784 inputs
>>> bool(w.abs().max() <= 2 * (2 / 784) ** 0.5 / 0.87962566103423978)
True
"""

from kerasinit._version import __version__ as __version__
from kerasinit.bridge import layouts as layouts
from kerasinit.bridge.functional import constant_ as constant_
from kerasinit.bridge.functional import glorot_normal_ as glorot_normal_
from kerasinit.bridge.functional import glorot_uniform_ as glorot_uniform_
from kerasinit.bridge.functional import he_normal_ as he_normal_
from kerasinit.bridge.functional import he_uniform_ as he_uniform_
from kerasinit.bridge.functional import identity_ as identity_
from kerasinit.bridge.functional import lecun_normal_ as lecun_normal_
from kerasinit.bridge.functional import lecun_uniform_ as lecun_uniform_
from kerasinit.bridge.functional import ones_ as ones_
from kerasinit.bridge.functional import orthogonal_ as orthogonal_
from kerasinit.bridge.functional import random_normal_ as random_normal_
from kerasinit.bridge.functional import random_uniform_ as random_uniform_
from kerasinit.bridge.functional import stft_ as stft_
from kerasinit.bridge.functional import truncated_normal_ as truncated_normal_
from kerasinit.bridge.functional import variance_scaling_ as variance_scaling_
from kerasinit.bridge.functional import zeros_ as zeros_
from kerasinit.bridge.initializer import Initializer as Initializer
from kerasinit.bridge.initializer import describe as describe
from kerasinit.bridge.initializer import get as get
from kerasinit.mappings.errors import InitializerArgumentError as InitializerArgumentError
from kerasinit.mappings.errors import KerasInitError as KerasInitError
from kerasinit.mappings.errors import LayoutError as LayoutError
from kerasinit.mappings.errors import UnknownInitializerError as UnknownInitializerError
from kerasinit.mappings.errors import UnsupportedInitializerError as UnsupportedInitializerError
from kerasinit.mappings.errors import UnsupportedVersionError as UnsupportedVersionError
from kerasinit.mappings.resolve import Resolved as Resolved

# Heavier parts load on first use: `kerasinit.nn`, `kerasinit.parity` (TensorFlow inside),
# `kerasinit.porting`, and the module-level helpers `initialize` / `keras_defaults_`.
_LAZY_MODULES = {"nn", "parity", "porting"}
_LAZY_ATTRS = {
    "initialize": "kerasinit.bridge.modules",
    "keras_defaults_": "kerasinit.bridge.modules",
}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"kerasinit.{name}")
    if name in _LAZY_ATTRS:
        return getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    raise AttributeError(f"module 'kerasinit' has no attribute {name!r}")
