"""Keras-style torch layers: ``from kerasinit import nn as knn``.

Each layer subclasses the torch module it replaces (``isinstance`` holds, ``state_dict`` keys
and shapes are identical) and adds the Keras initializer keywords of the matching Keras layer,
with Keras's defaults for ``keras_version``, plus ``seed``, ``generator`` and ``rng``.
``reset_parameters()`` re-applies the Keras initialization. Every argument is checked before
torch's constructor runs: a bad one is a :class:`LayerArgumentError` (a ``KerasInitError``)
naming the value and the valid range.

>>> from kerasinit import nn as knn
>>> fc = knn.Linear(784, 256, kernel_initializer="he_normal")      # bias_initializer="zeros"
>>> dw = knn.DepthwiseConv2d(64, 3, depth_multiplier=4)           # Keras DepthwiseConv2D fans
>>> lstm = knn.LSTM(128, 256, num_layers=2, bidirectional=True)   # orthogonal, forget bias 1
>>> fc.bias.abs().max().item(), lstm.bias_ih_l0[256:512].unique().tolist()
(0.0, [1.0])
"""

from kerasinit.nn._args import LayerArgumentError as LayerArgumentError
from kerasinit.nn.attention import MultiheadAttention as MultiheadAttention
from kerasinit.nn.conv import Conv1d as Conv1d
from kerasinit.nn.conv import Conv2d as Conv2d
from kerasinit.nn.conv import Conv3d as Conv3d
from kerasinit.nn.conv import ConvTranspose1d as ConvTranspose1d
from kerasinit.nn.conv import ConvTranspose2d as ConvTranspose2d
from kerasinit.nn.conv import ConvTranspose3d as ConvTranspose3d
from kerasinit.nn.conv import DepthwiseConv1d as DepthwiseConv1d
from kerasinit.nn.conv import DepthwiseConv2d as DepthwiseConv2d
from kerasinit.nn.conv import SeparableConv1d as SeparableConv1d
from kerasinit.nn.conv import SeparableConv2d as SeparableConv2d
from kerasinit.nn.dense import Embedding as Embedding
from kerasinit.nn.dense import Linear as Linear
from kerasinit.nn.dense import PReLU as PReLU
from kerasinit.nn.norm import BatchNorm1d as BatchNorm1d
from kerasinit.nn.norm import BatchNorm2d as BatchNorm2d
from kerasinit.nn.norm import BatchNorm3d as BatchNorm3d
from kerasinit.nn.norm import GroupNorm as GroupNorm
from kerasinit.nn.norm import LayerNorm as LayerNorm
from kerasinit.nn.recurrent import GRU as GRU
from kerasinit.nn.recurrent import LSTM as LSTM
from kerasinit.nn.recurrent import RNN as RNN

__all__ = [
    "GRU", "LSTM", "RNN", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "Conv1d", "Conv2d",
    "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "DepthwiseConv1d",
    "DepthwiseConv2d", "Embedding", "GroupNorm", "LayerArgumentError", "LayerNorm", "Linear",
    "MultiheadAttention",
    "PReLU", "SeparableConv1d", "SeparableConv2d",
]
