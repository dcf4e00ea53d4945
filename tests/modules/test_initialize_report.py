"""keras_defaults_ / initialize: the values Keras's defaults give, and the report.

Keras defaults (layer-map.md §2, §6): Dense/Conv kernels glorot_uniform, biases zeros,
Embedding U(±0.05), BatchNorm gamma 1 / beta 0 / moving mean 0 / moving variance 1, PReLU 0,
LSTM forget bias 1 with orthogonal recurrent kernels. Torch's defaults differ on all of these
except the norms, so each check below fails on an untouched torch model.
"""

from __future__ import annotations

import math

import torch
from torch import nn

import kerasinit
from kerasinit import nn as knn


def _model() -> nn.Sequential:
    return nn.Sequential(
        nn.Embedding(100, 16),                  # 0
        nn.Linear(16, 32),                      # 1
        nn.Conv1d(32, 64, 3, groups=32),        # 2  depthwise m=2
        nn.BatchNorm1d(64),                     # 3
        nn.PReLU(64),                           # 4
        nn.LSTM(64, 8),                         # 5
        nn.Bilinear(8, 8, 2),                   # 6  no Keras counterpart
        nn.InstanceNorm1d(4, affine=True),      # 7  no Keras counterpart
    )


def test_keras_defaults_values() -> None:
    model = _model()
    with torch.no_grad():
        model[3].running_mean.fill_(3.0)
        model[3].running_var.fill_(5.0)
        model[3].weight.fill_(2.0)
    report = kerasinit.keras_defaults_(model, generator=torch.Generator().manual_seed(0))
    emb = model[0].weight.detach()
    assert float(emb.abs().max()) <= 0.05 and float(emb.std()) > 0.025
    limit = math.sqrt(6 / (16 + 32))
    assert float(model[1].weight.detach().abs().max()) <= limit
    assert float(model[1].weight.detach().abs().max()) > 0.9 * limit
    assert float(model[1].bias.detach().abs().max()) == 0
    # depthwise (32·3, 2·3) fans
    assert float(model[2].weight.detach().abs().max()) <= math.sqrt(6 / (96 + 6))
    bn = model[3]
    assert torch.equal(bn.weight.detach(), torch.ones(64))
    assert torch.equal(bn.running_mean, torch.zeros(64))
    assert torch.equal(bn.running_var, torch.ones(64))
    assert torch.equal(model[4].weight.detach(), torch.zeros(64))
    assert torch.equal(model[5].bias_ih_l0.detach()[8:16], torch.ones(8))
    assert [(s.name, s.module) for s in report.skipped] == [
        ("6.weight", "Bilinear"), ("6.bias", "Bilinear"),
        ("7.weight", "InstanceNorm1d"), ("7.bias", "InstanceNorm1d")]
    assert report["2.weight"].layout == "Depthwise(2)"
    assert report["0.weight"].distribution == "U[-0.05, 0.05)"


def test_report_table_is_readable() -> None:
    text = str(kerasinit.keras_defaults_(_model()))
    lines = text.splitlines()
    assert lines[0] == "kerasinit: 14 tensors initialized as Keras 3.15 (latest)"
    assert lines[1].split() == ["parameter", "Keras", "layer", "role", "initializer", "layout",
                                "Keras", "shape", "fan_in", "fan_out", "distribution"]
    assert any(line.startswith("2.weight") and "DepthwiseConv1D" in line and "Depthwise(2)"
               in line for line in lines)
    assert "skipped (4 parameters left unchanged):" in lines
    assert all(line == line.rstrip() for line in lines)


def test_seed_reproducible_and_distinct_per_module() -> None:
    a, b = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8)), nn.Sequential(nn.Linear(8, 8),
                                                                          nn.Linear(8, 8))
    kerasinit.keras_defaults_(a, seed=11)
    kerasinit.keras_defaults_(b, seed=11)
    assert torch.equal(a[0].weight, b[0].weight) and torch.equal(a[1].weight, b[1].weight)
    assert not torch.equal(a[0].weight, a[1].weight)


def test_shared_module_initialized_once_and_mha_out_proj_claimed() -> None:
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, shared, nn.MultiheadAttention(16, 4))
    report = kerasinit.keras_defaults_(model, keras_version="3.14")
    assert report.names == ("0.weight", "0.bias", "2.in_proj_weight", "2.in_proj_bias",
                            "2.out_proj.weight", "2.out_proj.bias")
    row = report["2.out_proj.weight"]
    assert (row.keras_layer, row.layout, row.fan_in, row.fan_out) == (
        "MultiHeadAttention", "MHAOutput(4)", 16, 4 * 16)


def test_initialize_recurse_false_and_knn_layers_inside_models() -> None:
    model = nn.Sequential(nn.Linear(4, 4), knn.SeparableConv2d(4, 8, 3))
    before = model[0].weight.detach().clone()
    report = kerasinit.initialize(model[1], recurse=False, pointwise_initializer="ones")
    assert report.names == ("pointwise.weight",)
    assert torch.equal(model[1].pointwise.weight.detach(), torch.ones(8, 4, 1, 1))
    assert torch.equal(model[0].weight.detach(), before)
    report = kerasinit.keras_defaults_(model)
    assert report["1.depthwise.weight"].role == "depthwise_kernel"
    assert report["1.pointwise.bias"].keras_layer == "SeparableConv2D"


def test_embedding_padding_row_zeroed_and_noted() -> None:
    emb = nn.Embedding(10, 3, padding_idx=2)
    report = kerasinit.initialize(emb, embeddings_initializer="ones")
    assert torch.equal(emb.weight.detach()[2], torch.zeros(3))
    assert torch.equal(emb.weight.detach()[3], torch.ones(3))
    assert "padding_idx row 2" in report["weight"].note


def test_seed_faithful_rng_through_initialize() -> None:
    """rng='keras-torch' with a seed gives the same values as the Initializer called directly."""
    lin = nn.Linear(6, 5)
    kerasinit.initialize(lin, kernel_initializer="glorot_uniform", seed=3, rng="keras-torch")
    direct = kerasinit.get("glorot_uniform", seed=3, rng="keras-torch")(torch.empty(5, 6))
    assert torch.equal(lin.weight.detach(), direct)
