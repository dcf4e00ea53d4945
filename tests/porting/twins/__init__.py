"""Torch twins of torchvision's ResNet50, MobileNetV2 and InceptionV3 (``aux_logits=False``).

torchvision cannot be imported in this environment (its wheel is built against CUDA torch), so
these follow its published module structure and parameter names exactly (``layer1.0.conv1``,
``features.3.conv.1.0``, ``Mixed_5b.branch3x3dbl_2.conv``) and its forward data flow; they
carry no weights and skip torchvision's own initialization.
"""

from tests.porting.twins.inception import Inception3
from tests.porting.twins.mobilenet import MobileNetV2
from tests.porting.twins.resnet import resnet50

__all__ = ["Inception3", "MobileNetV2", "resnet50"]
