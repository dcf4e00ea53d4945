"""torchvision ``efficientnet_b0``, module for module (``features.1.0.block.1.0``,
``features.2.0.block.2.fc1``, ``classifier.1``) and its forward data flow.

Unmodified: BatchNorm eps 1e-5 and symmetric padding k//2 (torchvision's defaults).
``efficientnet_b0(keras_equivalent=True)`` is the corrected twin of
``keras.applications.EfficientNetB0``: BatchNorm eps 1e-3 and every stride-2 convolution padded
as Keras's ``correct_pad`` + ``padding="valid"`` does (``(k//2 - 1, k//2)`` on even sizes,
``(k//2, k//2)`` on odd ones). Keras's ``Rescaling`` and ``Normalization`` at the start of the
model have no torch counterpart here (torchvision normalizes outside the model).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CorrectPadConv2d(nn.Conv2d):
    """A stride-2 conv padded as Keras's ``correct_pad`` before a 'valid' conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for n, k in zip(reversed(x.shape[2:]), reversed(self.kernel_size), strict=True):
            pads += [k // 2 - (1 - int(n) % 2), k // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)


class Conv2dNormActivation(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, activation: bool = True, *, keras: bool = False) -> None:
        cls = CorrectPadConv2d if keras and stride == 2 else nn.Conv2d
        layers: list[nn.Module] = [
            cls(cin, cout, kernel_size, stride, (kernel_size - 1) // 2, groups=groups,
                bias=False),
            nn.BatchNorm2d(cout, eps=1e-3 if keras else 1e-5)]
        if activation:
            layers.append(nn.SiLU(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, input_channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = nn.SiLU(inplace=True)
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


class StochasticDepth(nn.Module):
    """torchvision's ``StochasticDepth``: the identity in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class MBConv(nn.Module):
    def __init__(self, expand_ratio: int, kernel: int, stride: int, cin: int, cout: int,
                 sd_prob: float, keras: bool) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        expanded = cin * expand_ratio
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(Conv2dNormActivation(cin, expanded, 1, keras=keras))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel, stride, expanded,
                                           keras=keras))
        layers.append(SqueezeExcitation(expanded, max(1, cin // 4)))
        layers.append(Conv2dNormActivation(expanded, cout, 1, activation=False, keras=keras))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob)
        self.out_channels = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += x
        return result


#: (expand_ratio, kernel, stride, input_channels, out_channels, num_layers) of B0
B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
      (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class EfficientNet(nn.Module):
    def __init__(self, num_classes: int = 1000, keras: bool = False,
                 stochastic_depth_prob: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [Conv2dNormActivation(3, 32, 3, 2, keras=keras)]
        total = sum(n for *_, n in B0)
        done = 0
        for expand, kernel, stride, cin, cout, n in B0:
            stage: list[nn.Module] = []
            for i in range(n):
                sd = stochastic_depth_prob * done / total
                stage.append(MBConv(expand, kernel, stride if i == 0 else 1,
                                    cin if i == 0 else cout, cout, sd, keras))
                done += 1
            layers.append(nn.Sequential(*stage))
        layers.append(Conv2dNormActivation(320, 1280, 1, keras=keras))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True),
                                        nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def efficientnet_b0(num_classes: int = 1000, keras_equivalent: bool = False) -> EfficientNet:
    return EfficientNet(num_classes, keras_equivalent)
