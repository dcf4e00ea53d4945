"""Keras models (one per weight family) with hand-written torch twins, and randomised weights.

``randomize(model, x)`` sets every Keras weight to a random array (not the initial values) and
every BatchNormalization's moving statistics to the batch statistics of its input on ``x``
(a training-mode pass) plus noise, so normalised outputs still depend on the input.
``expected_<name>(keras_model)`` builds each torch tensor's value by hand from the Keras arrays
(independent of kerasinit's layouts): the tests compare the loaded tensors with these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kerasinit import nn as knn


def randomize(keras: Any, model: Any, x: np.ndarray, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        if type(layer).__name__ == "Normalization":  # mean, variance (> 0), count
            ws[0] = rng.standard_normal(ws[0].shape).astype(ws[0].dtype) * 0.5
            ws[1] = rng.uniform(0.5, 2.0, ws[1].shape).astype(ws[1].dtype)
            layer.set_weights(ws)
            continue
        fresh = [(rng.standard_normal(w.shape) * (0.5 if w.ndim < 2 else
                  1.0 / np.sqrt(max(1, int(np.prod(w.shape[:-1])))))).astype(w.dtype)
                 for w in ws]
        layer.set_weights(fresh)
    bns = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    if not bns:
        return
    # one training-mode pass: every BatchNorm's input under batch statistics
    feed = keras.Model(model.inputs[0], [layer.input for layer in bns])
    seen = feed(x, training=True)
    for layer, h in zip(bns, seen if isinstance(seen, (list, tuple)) else [seen], strict=True):
        h = np.asarray(h)
        axes = tuple(range(h.ndim - 1))
        mean, var = h.mean(axis=axes), h.var(axis=axes)
        ws = layer.get_weights()
        n = len(ws)
        ws[n - 2] = (mean + 0.1 * rng.standard_normal(mean.shape) * np.sqrt(var)).astype("float32")
        ws[n - 1] = (var * rng.uniform(0.5, 1.5, var.shape)).astype("float32")
        layer.set_weights(ws)


# --- image model: Conv2D(groups), BN, PReLU, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose

def image_keras(keras: Any) -> Any:
    L = keras.layers
    inp = keras.Input((8, 8, 4))
    x = L.Conv2D(8, 3, padding="same", groups=2, name="conv")(inp)
    x = L.BatchNormalization(name="bn")(x)
    x = L.PReLU(shared_axes=[1, 2], name="prelu")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(x)
    x = L.SeparableConv2D(8, 3, padding="same", name="sep")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, name="up")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3, name="head")(x)
    return keras.Model(inp, x)


class ImageTwin(nn.Module):
    """``sep``: the SeparableConv2D as a container with ``.depthwise``/``.pointwise``
    (``"container"``), as two sibling convs (``"siblings"``) or as ``kerasinit.nn``'s layer."""

    def __init__(self, bn_eps: float = 1e-3, sep: str = "container") -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.bn = nn.BatchNorm2d(8, eps=bn_eps)
        self.prelu = nn.PReLU(8)
        self.dw = nn.Conv2d(8, 16, 3, padding=1, groups=8)
        self.style = sep
        if sep == "siblings":
            self.sep_dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
            self.sep_pw = nn.Conv2d(16, 8, 1)
        elif sep == "knn":
            self.sep = knn.SeparableConv2d(16, 8, 3, padding=1)
        else:
            self.sep = nn.Module()
            self.sep.depthwise = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
            self.sep.pointwise = nn.Conv2d(16, 8, 1)
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dw(self.prelu(self.bn(self.conv(x))))
        if self.style == "siblings":
            x = self.sep_pw(self.sep_dw(x))
        elif self.style == "knn":
            x = self.sep(x)
        else:
            x = self.sep.pointwise(self.sep.depthwise(x))
        return self.head(self.up(x).mean(dim=(2, 3)))


def conv_t(k: np.ndarray) -> np.ndarray:
    """(*k, in, out) -> (out, in, *k), by hand."""
    n = k.ndim
    return np.ascontiguousarray(np.transpose(k, (n - 1, n - 2, *range(n - 2))))


def depthwise_t(k: np.ndarray) -> np.ndarray:
    """(*k, in, m) -> (in*m, 1, *k): output channel c*m + j."""
    *ks, cin, m = k.shape
    out = np.empty((cin * m, 1, *ks), k.dtype)
    for c in range(cin):
        for j in range(m):
            out[c * m + j, 0] = k[..., c, j]
    return out


def expected_image(m: Any) -> dict[str, np.ndarray]:
    g = {layer.name: layer.get_weights() for layer in m.layers}
    return {
        "conv.weight": conv_t(g["conv"][0]), "conv.bias": g["conv"][1],
        "bn.weight": g["bn"][0], "bn.bias": g["bn"][1], "bn.running_mean": g["bn"][2],
        "bn.running_var": g["bn"][3], "prelu.weight": g["prelu"][0].reshape(-1),
        "dw.weight": depthwise_t(g["dw"][0]), "dw.bias": g["dw"][1],
        "sep.depthwise.weight": depthwise_t(g["sep"][0]),
        "sep.pointwise.weight": conv_t(g["sep"][1]), "sep.pointwise.bias": g["sep"][2],
        "up.weight": conv_t(g["up"][0]), "up.bias": g["up"][1],
        "head.weight": g["head"][0].T, "head.bias": g["head"][1],
    }


# --- conv1d / conv3d model

def conv13_keras(keras: Any) -> Any:
    L = keras.layers
    a = keras.Input((4, 4, 4, 2), name="vol")
    x = L.Conv3D(3, 2, name="c3")(a)
    x = L.Reshape((27, 3))(x)
    x = L.Conv1D(5, 3, name="c1")(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(a, x)


class Conv13Twin(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c3 = nn.Conv3d(2, 3, 2)
        self.c1 = nn.Conv1d(3, 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.c3(x)  # (N, 3, 3, 3, 3) -> Keras's (N, 27, 3) channels-last order
        x = x.permute(0, 2, 3, 4, 1).reshape(x.shape[0], 27, 3).transpose(1, 2)
        return self.c1(x).mean(dim=2)


def expected_conv13(m: Any) -> dict[str, np.ndarray]:
    g = {layer.name: layer.get_weights() for layer in m.layers}
    return {"c3.weight": conv_t(g["c3"][0]), "c3.bias": g["c3"][1],
            "c1.weight": conv_t(g["c1"][0]), "c1.bias": g["c1"][1]}


# --- sequence model: Embedding, Bidirectional(GRU), LSTM, SimpleRNN, Dense

def seq_keras(keras: Any) -> Any:
    L = keras.layers
    inp = keras.Input((6,), dtype="int32")
    x = L.Embedding(20, 5, name="emb")(inp)
    x = L.Bidirectional(L.GRU(4, return_sequences=True), name="bigru")(x)
    x = L.LSTM(3, return_sequences=True, name="lstm")(x)
    x = L.SimpleRNN(3, name="rnn")(x)
    x = L.Dense(2, name="out")(x)
    return keras.Model(inp, x)


class SeqTwin(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 5)
        self.bigru = nn.GRU(5, 4, batch_first=True, bidirectional=True)
        self.lstm = nn.LSTM(8, 3, batch_first=True)
        self.rnn = nn.RNN(3, 3, batch_first=True)
        self.out = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lstm(self.bigru(self.emb(x))[0])[0]
        return self.out(self.rnn(x)[1][-1])


def gru_blocks(a: np.ndarray) -> np.ndarray:
    """Keras (X, 3H) or (3H,) with blocks z, r, h -> torch blocks r, z, n along dim 0."""
    rows = a.T if a.ndim == 2 else a
    z, r, h = np.split(rows, 3, axis=0)
    return np.concatenate([r, z, h], axis=0)


def expected_seq(m: Any) -> dict[str, np.ndarray]:
    g = {layer.name: layer.get_weights() for layer in m.layers}
    bi = g["bigru"]
    out = {"emb.weight": g["emb"][0]}
    for i, suffix in ((0, ""), (3, "_reverse")):
        k, rk, b = bi[i], bi[i + 1], bi[i + 2]
        out[f"bigru.weight_ih_l0{suffix}"] = gru_blocks(k)
        out[f"bigru.weight_hh_l0{suffix}"] = gru_blocks(rk)
        out[f"bigru.bias_ih_l0{suffix}"] = gru_blocks(b[0])
        out[f"bigru.bias_hh_l0{suffix}"] = gru_blocks(b[1])
    for name in ("lstm", "rnn"):
        k, rk, b = g[name]
        out |= {f"{name}.weight_ih_l0": k.T, f"{name}.weight_hh_l0": rk.T,
                f"{name}.bias_ih_l0": b, f"{name}.bias_hh_l0": np.zeros_like(b)}
    out |= {"out.weight": g["out"][0].T, "out.bias": g["out"][1]}
    return out


# --- attention model: MultiHeadAttention (packed), LayerNorm, EinsumDense, GroupNorm

def attn_keras(keras: Any) -> Any:
    L = keras.layers
    inp = keras.Input((5, 8))
    x = L.MultiHeadAttention(2, 4, name="mha")(inp, inp)
    x = L.LayerNormalization(epsilon=1e-5, name="ln")(x)
    x = L.EinsumDense("abc,cd->abd", output_shape=(None, 6), bias_axes="d", name="ein")(x)
    x = L.GroupNormalization(groups=2, epsilon=1e-5, name="gn")(x)
    return keras.Model(inp, x)


class AttnTwin(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.ln = nn.LayerNorm(8)
        self.ein = nn.Linear(8, 6)
        self.gn = nn.GroupNorm(2, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln(self.mha(x, x, x, need_weights=False)[0])
        return self.gn(self.ein(x).transpose(1, 2))  # (N, C, T): GroupNorm over channels


def expected_attn(m: Any) -> dict[str, np.ndarray]:
    g = {layer.name: layer.get_weights() for layer in m.layers}
    qk, qb, kk, kb, vk, vb, ok, ob = g["mha"]
    return {
        "mha.in_proj_weight": np.concatenate([w.reshape(8, 8).T for w in (qk, kk, vk)]),
        "mha.in_proj_bias": np.concatenate([b.reshape(-1) for b in (qb, kb, vb)]),
        "mha.out_proj.weight": ok.reshape(8, 8).T, "mha.out_proj.bias": ob,
        "ln.weight": g["ln"][0], "ln.bias": g["ln"][1],
        "ein.weight": g["ein"][0].T, "ein.bias": g["ein"][1],
        "gn.weight": g["gn"][0], "gn.bias": g["gn"][1],
    }


# --- stride-2 'same' conv (MobileNetV2's first conv) and a conv bias before a BatchNorm

def stem_keras(keras: Any) -> Any:
    L = keras.layers
    inp = keras.Input((8, 8, 3))
    x = L.Conv2D(6, 3, strides=2, padding="same", use_bias=True, name="stem")(inp)
    x = L.BatchNormalization(epsilon=1e-3, name="stem_bn")(x)
    x = L.ReLU(6.0)(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, x)


class StemTwin(nn.Module):
    """``pad_end=True`` pads (0, 1) as TF does for 'same' with stride 2 on an even input."""

    def __init__(self, pad_end: bool = True) -> None:
        super().__init__()
        self.pad_end = pad_end
        self.stem = nn.Conv2d(3, 6, 3, stride=2, padding=0 if pad_end else 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(6, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad_end:
            x = F.pad(x, (0, 1, 0, 1))
        return F.relu6(self.stem_bn(self.stem(x))).mean(dim=(2, 3))


def symmetric_stem() -> StemTwin:
    """A factory for the CLI test: the stem twin with torch's symmetric padding."""
    return StemTwin(pad_end=False)
