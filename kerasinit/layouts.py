"""``kerasinit.layouts``: how a torch parameter's axes map to Keras's kernel layout.

The public face of :mod:`kerasinit.bridge.layouts` (the same objects), importable as a module:
``from kerasinit.layouts import Depthwise``.

>>> from kerasinit.layouts import Depthwise, mha_in_proj
>>> Depthwise(4).keras_shape((256, 1, 3, 3))
(3, 3, 64, 4)
>>> len(mha_in_proj(8).blocks((1536, 512)))
3
"""

from kerasinit.bridge.layouts import GRU as GRU
from kerasinit.bridge.layouts import Depthwise as Depthwise
from kerasinit.bridge.layouts import Embedding as Embedding
from kerasinit.bridge.layouts import KerasLayout as KerasLayout
from kerasinit.bridge.layouts import Layout as Layout
from kerasinit.bridge.layouts import LayoutLike as LayoutLike
from kerasinit.bridge.layouts import LayoutName as LayoutName
from kerasinit.bridge.layouts import MHAOutput as MHAOutput
from kerasinit.bridge.layouts import MHAProjection as MHAProjection
from kerasinit.bridge.layouts import Packed as Packed
from kerasinit.bridge.layouts import TorchLayout as TorchLayout
from kerasinit.bridge.layouts import mha_in_proj as mha_in_proj
from kerasinit.bridge.layouts import parse_layout as parse_layout

__all__ = [
    "GRU",
    "Depthwise",
    "Embedding",
    "KerasLayout",
    "Layout",
    "LayoutLike",
    "LayoutName",
    "MHAOutput",
    "MHAProjection",
    "Packed",
    "TorchLayout",
    "mha_in_proj",
    "parse_layout",
]
