"""A text model and a transformer block, no mapping: the traced forward pairs every layer."""

from __future__ import annotations

import math

import torch
from torch import nn

from kerasinit.porting import read
from kerasinit.porting.pairing import pair


def _functional(layers: list[dict], inputs: list[str], outputs: list[str]) -> dict:
    return {"class_name": "Functional", "keras_version": "3.15.1", "config": {
        "name": "m", "layers": layers, "input_layers": [[n, 0, 0] for n in inputs],
        "output_layers": [[n, 0, 0] for n in outputs]}}


def _layer(cls: str, name: str, inbound: list[str], **config: object) -> dict:
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]]}


def _input(name: str, shape: list, dtype: str = "float32") -> dict:
    return {"class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"name": name, "batch_shape": [None, *shape], "dtype": dtype}}


TEXT = _functional([
    _input("tokens", [12], "int32"),
    _layer("Embedding", "embed", ["tokens"], input_dim=100, output_dim=16),
    _layer("LSTM", "encoder", ["embed"], units=16, return_sequences=True),
    _layer("LSTM", "summary", ["encoder"], units=16),
    _layer("Dense", "hidden", ["summary"], units=16, activation="relu"),
    _layer("Dense", "logits", ["hidden"], units=16, bias_initializer="ones")],
    ["tokens"], ["logits"])


class TextNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(16, 16)  # registered out of order, names unrelated to Keras's
        self.proj = nn.Linear(16, 16)
        self.rnn2 = nn.LSTM(16, 16, batch_first=True)
        self.rnn1 = nn.LSTM(16, 16, batch_first=True)
        self.emb = nn.Embedding(100, 16)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x, _ = self.rnn1(self.emb(tokens))
        _, (h, _) = self.rnn2(x)
        return self.head(self.proj(h[-1]).relu())


def test_text_model_bare():
    model = TextNet()
    p = pair(read(TEXT), model)
    assert p.flow == "traced" and not p.problems
    assert {q.keras[0].path: q.unit.path for q in p.pairs} == {
        "embed": "emb", "encoder": "rnn1", "summary": "rnn2", "hidden": "proj",
        "logits": "head"}
    report = read(TEXT).apply(model)
    assert report.ok and torch.equal(model.head.bias, torch.ones(16))
    assert torch.count_nonzero(model.proj.bias) == 0


D, HEADS, FF = 32, 4, 64
BLOCK = _functional([
    _input("x", [10, D]),
    {"class_name": "MultiHeadAttention", "name": "attention",
     "config": {"name": "attention", "num_heads": HEADS, "key_dim": D // HEADS,
                "value_dim": D // HEADS, "use_bias": True, "output_shape": None},
     "build_config": {"shapes_dict": {"query_shape": [None, 10, D], "value_shape": [None, 10, D]}},
     "inbound_nodes": [[["x", 0, 0, {"value": ["x", 0, 0]}]]]},
    _layer("Add", "res1", ["x", "attention"]),
    _layer("LayerNormalization", "ln1", ["res1"], epsilon=1e-6, gamma_initializer="zeros"),
    _layer("Dense", "ff1", ["ln1"], units=FF, activation="relu"),
    _layer("Dense", "ff2", ["ff1"], units=D),
    _layer("Add", "res2", ["ln1", "ff2"]),
    _layer("LayerNormalization", "ln2", ["res2"], epsilon=1e-6)], ["x"], ["ln2"])


def test_transformer_block_onto_torch_encoder_layer():
    plan = read(BLOCK)
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
    p = pair(plan, layer)
    assert not p.problems, p.problems
    assert {q.keras[0].path: q.unit.path for q in p.pairs} == {
        "attention": "self_attn", "ln1": "norm1", "ff1": "linear1", "ff2": "linear2",
        "ln2": "norm2"}
    report = plan.apply(layer, hyperparameters=True)
    assert report.ok
    assert torch.count_nonzero(layer.norm1.weight) == 0  # gamma_initializer="zeros" on ln1
    assert torch.equal(layer.norm2.weight, torch.ones(D))
    assert layer.norm1.eps == 1e-6
    limit = math.sqrt(6 / (D + D))  # q/k/v each a Keras (32, 4, 8) kernel, fans 32/32
    assert layer.self_attn.in_proj_weight.abs().max() <= limit


CONVNEXT = _functional([
    _input("x", [8, 8, 16]),
    _layer("Conv2D", "dw", ["x"], filters=16, kernel_size=7, padding="same", groups=16),
    _layer("LayerNormalization", "ln", ["dw"], epsilon=1e-6),
    _layer("Dense", "pw1", ["ln"], units=64),
    _layer("Activation", "gelu", ["pw1"], activation="gelu"),
    _layer("Dense", "pw2", ["gelu"], units=16),
    _layer("LayerScale", "scale", ["pw2"], init_values=1e-6, projection_dim=16),
    _layer("Add", "res", ["x", "scale"])], ["x"], ["res"])


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class CNBlock(nn.Module):
    """torchvision's ConvNeXt block: the layer scale is a parameter of the block itself."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(),
            nn.Linear(4 * dim, dim), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * self.block(x) + x


def test_convnext_block_layer_scale_onto_a_block_parameter():
    plan = read(CONVNEXT)
    block = CNBlock(16)
    p = pair(plan, block)
    assert not p.problems, p.problems
    assert {q.keras[0].path: q.unit.path for q in p.pairs} == {
        "dw": "block.0", "ln": "block.2", "pw1": "block.3", "pw2": "block.5",
        "scale": ":layer_scale"}
    report = plan.apply(block)
    assert report.ok and report["layer_scale"].keras_layer == "scale"
    assert torch.equal(block.layer_scale, torch.full((16, 1, 1), 1e-6))
