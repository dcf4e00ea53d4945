"""The torch side: layouts, in-place samplers, the Initializer, the functional API."""

from kerasinit.bridge import layouts as layouts
from kerasinit.bridge.initializer import Initializer as Initializer
from kerasinit.bridge.initializer import describe as describe
from kerasinit.bridge.initializer import get as get
