"""Torch twins of torchvision's ResNet50, MobileNetV2, InceptionV3 (``aux_logits=False``) and
EfficientNetB0, and of timm's legacy Xception.

torchvision and timm cannot be imported in this environment (torchvision's wheel is built
against CUDA torch, timm imports torchvision), so these follow their published module structure
and parameter names exactly (``layer1.0.conv1``, ``features.3.conv.1.0``,
``Mixed_5b.branch3x3dbl_2.conv``, ``features.2.0.block.2.fc1``, ``block1.rep.0.pointwise``) and
their forward data flow; they carry no weights and skip the libraries' own initialization.
``keras_equivalent=True`` (where present) gives the corrected twin of the keras.applications
model.
"""

from tests.porting.twins.efficientnet import efficientnet_b0
from tests.porting.twins.inception import Inception3
from tests.porting.twins.mobilenet import MobileNetV2
from tests.porting.twins.resnet import resnet50
from tests.porting.twins.xception import legacy_xception

__all__ = ["Inception3", "MobileNetV2", "efficientnet_b0", "legacy_xception", "resnet50"]
