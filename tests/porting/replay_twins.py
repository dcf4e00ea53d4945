"""Torch twins of the Keras models in ``replay_models.py``, with Keras's forward semantics.

Each twin takes the input in Keras layout (channels last, batch first) and returns Keras's
output layout, so ``twin(x)`` can be compared with ``keras_model(x)`` directly.
"""

from __future__ import annotations

import torch
from torch import nn


class Separable(nn.Module):
    """A Keras ``SeparableConv2D``: ``depthwise`` then ``pointwise`` children."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, k, groups=cin, padding="same", bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class Conv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4, eps=1e-3)
        self.depthwise = nn.Conv2d(4, 8, 3, groups=4)
        self.separable = Separable(8, 5, 2)
        self.transpose = nn.ConvTranspose2d(5, 3, 2)
        self.fc = nn.Linear(3, 6)
        self.out = nn.Linear(6, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2)
        x = self.transpose(self.separable(self.depthwise(self.bn(self.conv(x)))))
        return self.out(self.fc(x.mean(dim=(2, 3))))


class Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 6, batch_first=True)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.rnn = nn.RNN(5, 4, batch_first=True)
        self.bi = nn.LSTM(4, 3, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embedding(x.long())
        for layer in (self.lstm, self.gru, self.rnn, self.bi):
            h = layer(h)[0]
        return self.fc(h)


class MHA(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.attn(x, x, x, need_weights=False)[0])


TWINS: dict[str, type[nn.Module]] = {"conv": Conv, "seq": Seq, "mha": MHA}
