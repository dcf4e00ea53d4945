"""kerasinit: initialize PyTorch weights exactly as Keras does.

>>> import torch, kerasinit
>>> w = torch.empty(256, 784)                     # nn.Linear(784, 256).weight
>>> _ = kerasinit.get("he_normal")(w)              # Keras he_normal for Dense(256) on 784 inputs
>>> bool(w.abs().max() <= 2 * (2 / 784) ** 0.5 / 0.87962566103423978)
True
"""

from kerasinit.bridge import layouts as layouts
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

__version__ = "0.1.0"
