"""Per layer and keyword: the resolved distribution is Keras's formula with Keras's fans.

Every expected (fan_in, fan_out) is written out here from ``shared/reference/layer-map.md``
(§1 rank rule on the Keras shape, §3 per-layer table, §5 MHA per version), never computed by
kerasinit. The distribution is then checked against the Keras arithmetic written inline:
he_normal -> TN(0, sqrt(2/fan_in)/0.8796..., cut ±2σ); glorot_uniform -> U(±sqrt(6/(fi+fo)));
VarianceScaling(mode="fan_out", distribution="uniform") -> U(±sqrt(3/fan_out)).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import nn as knn
from kerasinit.mappings.distributions import TruncatedNormal, Uniform
from kerasinit.modules.apply import module_params

C = 0.87962566103423978
FAN_OUT_U = {"class_name": "VarianceScaling",
             "config": {"scale": 1.0, "mode": "fan_out", "distribution": "uniform"}}

# (id, module factory, parameter, keyword, keras_version, (fan_in, fan_out), Keras layer, role)
CASES: list[tuple[str, Callable[[], nn.Module], str, str, str | None,
                  tuple[int, int], str, str]] = [
    ("dense", lambda: nn.Linear(784, 256), "weight", "kernel_initializer", None,
     (784, 256), "Dense", "kernel"),
    ("conv1d", lambda: nn.Conv1d(32, 64, 5), "weight", "kernel_initializer", None,
     (5 * 32, 5 * 64), "Conv1D", "kernel"),
    ("conv2d", lambda: nn.Conv2d(64, 128, 3), "weight", "kernel_initializer", None,
     (9 * 64, 9 * 128), "Conv2D", "kernel"),
    ("conv2d_g4", lambda: nn.Conv2d(64, 128, 3, groups=4), "weight", "kernel_initializer", None,
     (9 * 16, 9 * 128), "Conv2D", "kernel"),
    ("conv3d", lambda: nn.Conv3d(16, 32, 3), "weight", "kernel_initializer", None,
     (27 * 16, 27 * 32), "Conv3D", "kernel"),
    ("conv3d_depthwise_is_grouped", lambda: nn.Conv3d(8, 16, 3, groups=8), "weight",
     "kernel_initializer", None, (27 * 1, 27 * 16), "Conv3D", "kernel"),
    # Keras Conv2DTranspose kernel (*k, out, in): fan_in = out·K (layer-map §3)
    ("convT2d", lambda: nn.ConvTranspose2d(128, 64, 4), "weight", "kernel_initializer", None,
     (16 * 64, 16 * 128), "Conv2DTranspose", "kernel"),
    ("convT1d", lambda: nn.ConvTranspose1d(8, 4, 3), "weight", "kernel_initializer", None,
     (3 * 4, 3 * 8), "Conv1DTranspose", "kernel"),
    ("convT3d", lambda: knn.ConvTranspose3d(6, 10, 2), "weight", "kernel_initializer", None,
     (8 * 10, 8 * 6), "Conv3DTranspose", "kernel"),
    # Depthwise (*k, in, m): fans (in·K, m·K)
    ("depthwise_m1", lambda: nn.Conv2d(256, 256, 3, groups=256), "weight",
     "depthwise_initializer", None, (256 * 9, 1 * 9), "DepthwiseConv2D", "depthwise_kernel"),
    ("depthwise_m4", lambda: nn.Conv2d(256, 1024, 3, groups=256), "weight",
     "depthwise_initializer", None, (256 * 9, 4 * 9), "DepthwiseConv2D", "depthwise_kernel"),
    ("depthwise1d", lambda: nn.Conv1d(1024, 1024, 5, groups=1024), "weight",
     "depthwise_initializer", None, (1024 * 5, 5), "DepthwiseConv1D", "depthwise_kernel"),
    ("knn_depthwise", lambda: knn.DepthwiseConv2d(64, 3, depth_multiplier=4), "weight",
     "depthwise_initializer", None, (64 * 9, 4 * 9), "DepthwiseConv2D", "depthwise_kernel"),
    # knn.Conv2d is Keras Conv2D even with groups == in_channels: (*k, in/g, out)
    ("knn_conv_groups_in", lambda: knn.Conv2d(8, 16, 3, groups=8), "weight",
     "kernel_initializer", None, (9 * 1, 9 * 16), "Conv2D", "kernel"),
    ("separable_dw", lambda: knn.SeparableConv2d(256, 128, 3), "depthwise.weight",
     "depthwise_initializer", None, (256 * 9, 9), "SeparableConv2D", "depthwise_kernel"),
    ("separable_pw", lambda: knn.SeparableConv2d(256, 128, 3), "pointwise.weight",
     "pointwise_initializer", None, (256, 128), "SeparableConv2D", "pointwise_kernel"),
    ("separable_bias", lambda: knn.SeparableConv2d(256, 128, 3), "pointwise.bias",
     "bias_initializer", None, (128, 128), "SeparableConv2D", "bias"),
    # Embedding (V, D): fan_in = V
    ("embedding", lambda: nn.Embedding(10000, 128), "weight", "embeddings_initializer", None,
     (10000, 128), "Embedding", "embeddings"),
    # RNN kernels on the whole Keras matrices (X, G·H) and (H, G·H)
    ("lstm_ih", lambda: nn.LSTM(64, 128), "weight_ih_l0", "kernel_initializer", None,
     (64, 512), "LSTM", "kernel"),
    ("lstm_hh", lambda: nn.LSTM(64, 128), "weight_hh_l0", "recurrent_initializer", None,
     (128, 512), "LSTM", "recurrent_kernel"),
    ("lstm_ih_l1_reverse", lambda: nn.LSTM(64, 128, num_layers=2, bidirectional=True),
     "weight_ih_l1_reverse", "kernel_initializer", None, (256, 512), "LSTM", "kernel"),
    # unit_forget_bias (default): Keras calls the bias initializer on (H,) then (2H,)
    ("lstm_bias", lambda: nn.LSTM(64, 128), "bias_ih_l0", "bias_initializer", None,
     (128, 128), "LSTM", "bias"),
    ("simplernn_bias", lambda: nn.RNN(64, 128), "bias_ih_l0", "bias_initializer", None,
     (128, 128), "SimpleRNN", "bias"),
    ("gru_ih", lambda: nn.GRU(64, 128), "weight_ih_l0", "kernel_initializer", None,
     (64, 384), "GRU", "kernel"),
    ("gru_hh_reverse", lambda: nn.GRU(64, 128, bidirectional=True), "weight_hh_l0_reverse",
     "recurrent_initializer", None, (128, 384), "GRU", "recurrent_kernel"),
    # GRU reset_after=True: Keras bias (2, 3H) -> rank-2 fans (2, 3H)
    ("gru_bias", lambda: nn.GRU(64, 128), "bias_hh_l0", "bias_initializer", None,
     (2, 384), "GRU", "recurrent_bias"),
    ("simplernn_ih", lambda: nn.RNN(64, 128), "weight_ih_l0", "kernel_initializer", None,
     (64, 128), "SimpleRNN", "kernel"),
    # MultiHeadAttention E=512, h=8, d=64 (§5)
    ("mha_in_315", lambda: nn.MultiheadAttention(512, 8), "in_proj_weight",
     "kernel_initializer", "3.15", (512, 512), "MultiHeadAttention", "kernel"),
    ("mha_in_314", lambda: nn.MultiheadAttention(512, 8), "in_proj_weight",
     "kernel_initializer", "3.14", (8 * 512, 64 * 512), "MultiHeadAttention", "kernel"),
    ("mha_in_tfkeras", lambda: nn.MultiheadAttention(512, 8), "in_proj_weight",
     "kernel_initializer", "2", (8 * 512, 64 * 512), "MultiHeadAttention", "kernel"),
    ("mha_out_315", lambda: nn.MultiheadAttention(512, 8), "out_proj.weight",
     "kernel_initializer", None, (512, 512), "MultiHeadAttention", "kernel"),
    ("mha_out_314", lambda: nn.MultiheadAttention(512, 8), "out_proj.weight",
     "kernel_initializer", "3.14", (8 * 64, 8 * 512), "MultiHeadAttention", "kernel"),
    ("mha_k_kdim_315", lambda: nn.MultiheadAttention(64, 4, kdim=32, vdim=48), "k_proj_weight",
     "kernel_initializer", None, (32, 64), "MultiHeadAttention", "kernel"),
    ("mha_k_kdim_314", lambda: nn.MultiheadAttention(64, 4, kdim=32, vdim=48), "k_proj_weight",
     "kernel_initializer", "3.14", (4 * 32, 16 * 32), "MultiHeadAttention", "kernel"),
    ("mha_in_bias", lambda: nn.MultiheadAttention(512, 8), "in_proj_bias", "bias_initializer",
     None, (8, 64), "MultiHeadAttention", "bias"),
    ("bn_gamma", lambda: nn.BatchNorm2d(32), "weight", "gamma_initializer", None, (32, 32),
     "BatchNormalization", "gamma"),
    ("bn_moving_var", lambda: nn.BatchNorm1d(32), "running_var", "moving_variance_initializer",
     None, (32, 32), "BatchNormalization", "moving_variance"),
    ("layernorm_2d", lambda: nn.LayerNorm([4, 5]), "weight", "gamma_initializer", None,
     (4, 5), "LayerNormalization", "gamma"),
    ("groupnorm_beta", lambda: nn.GroupNorm(4, 16), "bias", "beta_initializer", None,
     (16, 16), "GroupNormalization", "beta"),
    ("prelu", lambda: nn.PReLU(24), "weight", "alpha_initializer", None, (24, 24),
     "PReLU", "alpha"),
]


def _expected_he_normal(fan_in: int) -> tuple[float, float]:
    sigma = math.sqrt(2.0 / fan_in) / C
    return sigma, 2 * sigma


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fans_and_distribution_per_layer(case: tuple) -> None:  # type: ignore[type-arg]
    _, make, name, keyword, version, (fan_in, fan_out), layer, role = case
    module = make()
    spec = next(p for p in module_params(module) if p.name == name)
    assert (spec.keyword, spec.keras_layer, spec.role) == (keyword, layer, role)
    tensor = module.get_parameter(name) if "running" not in name else module.get_buffer(name)
    before = tensor.detach().clone()
    report = kerasinit.initialize(module, keras_version=version, **{keyword: "he_normal"},
                                  generator=torch.Generator().manual_seed(0))
    row = report[name]
    assert (row.fan_in, row.fan_out) == (fan_in, fan_out)
    assert not torch.equal(before, tensor.detach())
    # the Initializer's own resolution agrees, and is Keras's he_normal arithmetic
    for keyword_id, check in (("he_normal", "he"), ("glorot_uniform", "glorot"),
                              (FAN_OUT_U, "fan_out")):
        if spec.keras_layer in ("GRU", "LSTM") and spec.role.endswith("bias"):
            continue  # biases of RNNs are described on Keras's own bias shape (report rows)
        got = kerasinit.get(keyword_id, keras_version=version).describe(
            tuple(tensor.shape), layout=spec.layout)
        first = got[0] if isinstance(got, tuple) else got
        dist = first.distribution
        if check == "he":
            sigma, cut = _expected_he_normal(fan_in)
            assert isinstance(dist, TruncatedNormal)
            assert dist.std == pytest.approx(sigma, rel=1e-12)
            assert (dist.low, dist.high) == pytest.approx((-cut, cut), rel=1e-12)
        elif check == "glorot":
            assert isinstance(dist, Uniform)
            assert dist.high == pytest.approx(math.sqrt(6.0 / (fan_in + fan_out)), rel=1e-12)
        else:
            assert isinstance(dist, Uniform)
            assert dist.high == pytest.approx(math.sqrt(3.0 / fan_out), rel=1e-12)


# measured Keras stds from layer-map.md (§3, §5), versus kerasinit's exact realised std
MEASURED = [
    ("depthwise 3x3 in=256 he_normal", lambda: nn.Conv2d(256, 256, 3, groups=256), "weight",
     "depthwise_initializer", "he_normal", None, 0.0292),
    ("depthwise1d k5 in=1024 he_normal", lambda: nn.Conv1d(1024, 1024, 5, groups=1024),
     "weight", "depthwise_initializer", "he_normal", None, 0.0198),
    ("embedding he_normal", lambda: nn.Embedding(10000, 128), "weight",
     "embeddings_initializer", "he_normal", None, 0.0141),
    ("mha q/k/v glorot 3.15", lambda: nn.MultiheadAttention(512, 8), "in_proj_weight",
     "kernel_initializer", "glorot_uniform", "3.15", 0.0442),
    ("mha q/k/v glorot tf_keras", lambda: nn.MultiheadAttention(512, 8), "in_proj_weight",
     "kernel_initializer", "glorot_uniform", "2", 0.00736),
    ("mha out glorot tf_keras", lambda: nn.MultiheadAttention(512, 8), "out_proj.weight",
     "kernel_initializer", "glorot_uniform", "2", 0.0208),
    ("mha q/k/v he tf_keras", lambda: nn.MultiheadAttention(512, 8), "in_proj_weight",
     "kernel_initializer", "he_normal", "2", 0.0221),
    ("lstm recurrent orthogonal", lambda: nn.LSTM(64, 128), "weight_hh_l0",
     "recurrent_initializer", "orthogonal", None, 0.0442),
]


@pytest.mark.parametrize("case", MEASURED, ids=[c[0] for c in MEASURED])
def test_realised_std_matches_keras_measurement(case: tuple) -> None:  # type: ignore[type-arg]
    """The exact std (from the resolved distribution, or the sample for orthogonal) is within
    2 % of the std layer-map.md measured on the real Keras layer (3 significant digits)."""
    _, make, name, keyword, ident, version, measured = case
    module = make()
    kerasinit.initialize(module, keras_version=version, **{keyword: ident},
                         generator=torch.Generator().manual_seed(1))
    std = float(module.get_parameter(name).detach().double().std())
    assert std == pytest.approx(measured, rel=0.02)


def test_depthwise_fans_differ_from_torch_by_the_channel_factor() -> None:
    """Keras depthwise fan_in = in·K; torch's rule gives K: the factor is exactly in (= √in in
    he_normal std, the 16.7x measured in layer-map §3 for in=256)."""
    conv = nn.Conv2d(256, 1024, 3, groups=256)
    torch_fans = nn.init._calculate_fan_in_and_fan_out(conv.weight)
    row = kerasinit.initialize(conv, depthwise_initializer="he_normal")["weight"]
    assert torch_fans == (9, 1024 * 9)
    assert (row.fan_in / torch_fans[0], row.fan_out) == (256, 4 * 9)
    naive = torch.empty_like(conv.weight)
    nn.init.kaiming_normal_(naive, nonlinearity="relu", generator=torch.Generator().manual_seed(0))
    ratio = float(naive.std() / conv.weight.detach().std())
    assert ratio == pytest.approx(16.0, rel=0.05)
