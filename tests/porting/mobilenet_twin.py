"""torchvision's MobileNetV2, module for module (``features.N.conv...``, ``classifier.1``),
written out because torchvision cannot be imported next to the CPU build of torch here.

``mobilenet_v2(width_mult, num_classes)`` is torchvision's structure and defaults (BatchNorm
eps 1e-5, symmetric padding k//2). ``keras_equivalent=True`` gives the corrected twin of
``keras.applications.MobileNetV2``: BatchNorm eps 1e-3 and the stride-2 convolutions padded
(0, 1) as TF pads ``padding="same"`` / ``correct_pad`` on even input sizes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class PadEndConv2d(nn.Conv2d):
    """A stride-2 conv that pads (0, 1) per spatial axis as TF does on even sizes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (0, 1, 0, 1)), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups)


def _conv(cin: int, cout: int, k: int, stride: int, groups: int, tf: bool) -> nn.Conv2d:
    cls = PadEndConv2d if tf and stride == 2 else nn.Conv2d
    return cls(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False)


def _cna(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, *, eps: float,
         tf: bool) -> nn.Sequential:
    """torchvision's Conv2dNormActivation with ReLU6."""
    return nn.Sequential(_conv(cin, cout, k, stride, groups, tf), nn.BatchNorm2d(cout, eps=eps),
                         nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, *, eps: float,
                 tf: bool) -> None:
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(_cna(inp, hidden, 1, eps=eps, tf=tf))
        layers += [_cna(hidden, hidden, 3, stride, hidden, eps=eps, tf=tf),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup, eps=eps)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000,
                 keras_equivalent: bool = False) -> None:
        super().__init__()
        eps, tf = (1e-3, True) if keras_equivalent else (1e-5, False)
        setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                   [6, 160, 3, 2], [6, 320, 1, 1]]
        cin = _make_divisible(32 * width_mult)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [_cna(3, cin, stride=2, eps=eps, tf=tf)]
        for t, c, n, s in setting:
            cout = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t, eps=eps, tf=tf))
                cin = cout
        features.append(_cna(cin, self.last_channel, 1, eps=eps, tf=tf))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.last_channel,
                                                                   num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))
