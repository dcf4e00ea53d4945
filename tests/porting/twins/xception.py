"""timm's ``legacy_xception`` (``timm/models/xception.py``), module for module (``conv1``,
``block1.rep.0.conv1`` / ``.pointwise``, ``block1.skip``, ``block1.skipbn``, ``conv3``, ``fc``)
and its forward data flow.

Unmodified: BatchNorm eps 1e-5 and block max pools ``MaxPool2d(3, 2, 1)`` (timm's defaults).
``legacy_xception(keras_equivalent=True)`` is the corrected twin of
``keras.applications.Xception``: BatchNorm eps 1e-3, and the block max pools padded as TF's
``MaxPooling2D(3, 2, padding="same")`` (-inf, ``(0, 1)`` per axis on even sizes; the same as
timm's on odd sizes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SeparableConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, padding: int = 0, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, kernel_size, stride, padding, dilation,
                               groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, 1, 0, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.conv1(x))


class SamePadMaxPool2d(nn.MaxPool2d):
    """TF's ``MaxPooling2D(padding="same")``: -inf padding, the larger half at the end."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = int(self.kernel_size), int(self.stride)  # type: ignore[call-overload]
        pads: list[int] = []
        for n in reversed(x.shape[2:]):
            total = max((-(-int(n) // s) - 1) * s + k - int(n), 0)
            pads += [total // 2, total - total // 2]
        return F.max_pool2d(F.pad(x, pads, value=float("-inf")), k, s)


class Block(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, reps: int, strides: int = 1,
                 start_with_relu: bool = True, grow_first: bool = True,
                 keras: bool = False) -> None:
        super().__init__()
        eps = 1e-3 if keras else 1e-5
        self.skip: nn.Conv2d | None
        if out_channels != in_channels or strides != 1:
            self.skip = nn.Conv2d(in_channels, out_channels, 1, stride=strides, bias=False)
            self.skipbn = nn.BatchNorm2d(out_channels, eps=eps)
        else:
            self.skip = None
        rep: list[nn.Module] = []
        for i in range(reps):
            if grow_first:
                inc = in_channels if i == 0 else out_channels
                outc = out_channels
            else:
                inc = in_channels
                outc = in_channels if i < (reps - 1) else out_channels
            rep.append(nn.ReLU(inplace=True))
            rep.append(SeparableConv2d(inc, outc, 3, stride=1, padding=1))
            rep.append(nn.BatchNorm2d(outc, eps=eps))
        if not start_with_relu:
            rep = rep[1:]
        else:
            rep[0] = nn.ReLU(inplace=False)
        if strides != 1:
            rep.append(SamePadMaxPool2d(3, strides) if keras else nn.MaxPool2d(3, strides, 1))
        self.rep = nn.Sequential(*rep)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.rep(inp)
        skip = self.skipbn(self.skip(inp)) if self.skip is not None else inp
        x += skip
        return x


class SelectAdaptivePool2d(nn.Module):
    """timm's global pool with ``flatten``: average over the spatial axes."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.flatten(self.pool(x))


class Xception(nn.Module):
    def __init__(self, num_classes: int = 1000, in_chans: int = 3, keras: bool = False) -> None:
        super().__init__()
        eps = 1e-3 if keras else 1e-5
        self.num_classes = num_classes
        self.num_features = 2048
        self.conv1 = nn.Conv2d(in_chans, 32, 3, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(32, eps=eps)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(32, 64, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(64, eps=eps)
        self.act2 = nn.ReLU(inplace=True)
        self.block1 = Block(64, 128, 2, 2, start_with_relu=False, keras=keras)
        self.block2 = Block(128, 256, 2, 2, keras=keras)
        self.block3 = Block(256, 728, 2, 2, keras=keras)
        for i in range(4, 12):
            setattr(self, f"block{i}", Block(728, 728, 3, 1, keras=keras))
        self.block12 = Block(728, 1024, 2, 2, grow_first=False, keras=keras)
        self.conv3 = SeparableConv2d(1024, 1536, 3, 1, 1)
        self.bn3 = nn.BatchNorm2d(1536, eps=eps)
        self.act3 = nn.ReLU(inplace=True)
        self.conv4 = SeparableConv2d(1536, self.num_features, 3, 1, 1)
        self.bn4 = nn.BatchNorm2d(self.num_features, eps=eps)
        self.act4 = nn.ReLU(inplace=True)
        self.global_pool = SelectAdaptivePool2d()
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        for i in range(1, 13):
            x = getattr(self, f"block{i}")(x)
        x = self.act3(self.bn3(self.conv3(x)))
        return self.act4(self.bn4(self.conv4(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.global_pool(self.forward_features(x)))


def legacy_xception(num_classes: int = 1000, keras_equivalent: bool = False) -> Xception:
    return Xception(num_classes, keras=keras_equivalent)
