"""Against real Keras 3 layers (TensorFlow backend): weight shapes, default initializers, and
the LSTM forget bias, compared with what kerasinit reports for the matching torch modules.

Needs TensorFlow/Keras (skipped otherwise). Builds small layers only (~5 s, mostly the import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import nn as knn

pytestmark = pytest.mark.tf

# (id, Keras layer factory(keras), build shapes, torch module factory,
#  {Keras weight path suffix: torch parameter}, {Keras initializer attribute: torch parameter})
Case = tuple[str, Callable[..., object], list[tuple[int | None, ...]], Callable[[], nn.Module],
             dict[str, str], dict[str, str]]
CASES: list[Case] = [
    ("Dense", lambda k: k.layers.Dense(16), [(None, 12)], lambda: nn.Linear(12, 16),
     {"kernel": "weight", "bias": "bias"},
     {"kernel_initializer": "weight", "bias_initializer": "bias"}),
    ("Conv2D groups", lambda k: k.layers.Conv2D(16, 3, groups=4), [(None, 7, 7, 8)],
     lambda: knn.Conv2d(8, 16, 3, groups=4), {"kernel": "weight", "bias": "bias"},
     {"kernel_initializer": "weight", "bias_initializer": "bias"}),
    ("Conv1DTranspose", lambda k: k.layers.Conv1DTranspose(6, 3), [(None, 7, 4)],
     lambda: nn.ConvTranspose1d(4, 6, 3), {"kernel": "weight", "bias": "bias"},
     {"kernel_initializer": "weight"}),
    ("Conv2DTranspose", lambda k: k.layers.Conv2DTranspose(6, 3), [(None, 7, 7, 4)],
     lambda: nn.ConvTranspose2d(4, 6, 3), {"kernel": "weight", "bias": "bias"},
     {"kernel_initializer": "weight"}),
    ("DepthwiseConv2D", lambda k: k.layers.DepthwiseConv2D(3, depth_multiplier=3),
     [(None, 7, 7, 4)], lambda: nn.Conv2d(4, 12, 3, groups=4),
     {"kernel": "weight", "bias": "bias"},
     {"depthwise_initializer": "weight", "bias_initializer": "bias"}),
    ("DepthwiseConv1D", lambda k: k.layers.DepthwiseConv1D(3, depth_multiplier=2),
     [(None, 7, 4)], lambda: knn.DepthwiseConv1d(4, 3, depth_multiplier=2),
     {"kernel": "weight"}, {"depthwise_initializer": "weight"}),
    ("SeparableConv2D", lambda k: k.layers.SeparableConv2D(5, 3, depth_multiplier=2),
     [(None, 7, 7, 4)], lambda: knn.SeparableConv2d(4, 5, 3, depth_multiplier=2),
     {"depthwise_kernel": "depthwise.weight", "pointwise_kernel": "pointwise.weight",
      "bias": "pointwise.bias"},
     {"depthwise_initializer": "depthwise.weight", "pointwise_initializer": "pointwise.weight",
      "bias_initializer": "pointwise.bias"}),
    ("Embedding", lambda k: k.layers.Embedding(50, 6), [(None, 3)], lambda: nn.Embedding(50, 6),
     {"embeddings": "weight"}, {"embeddings_initializer": "weight"}),
    ("SimpleRNN", lambda k: k.layers.SimpleRNN(8), [(None, 3, 5)], lambda: nn.RNN(5, 8),
     {"kernel": "weight_ih_l0", "recurrent_kernel": "weight_hh_l0", "bias": "bias_ih_l0"},
     {"kernel_initializer": "weight_ih_l0", "recurrent_initializer": "weight_hh_l0"}),
    ("LSTM", lambda k: k.layers.LSTM(8), [(None, 3, 5)], lambda: nn.LSTM(5, 8),
     {"kernel": "weight_ih_l0", "recurrent_kernel": "weight_hh_l0", "bias": "bias_ih_l0"},
     {"kernel_initializer": "weight_ih_l0", "recurrent_initializer": "weight_hh_l0"}),
    ("GRU", lambda k: k.layers.GRU(8), [(None, 3, 5)], lambda: nn.GRU(5, 8),
     {"kernel": "weight_ih_l0", "recurrent_kernel": "weight_hh_l0", "bias": "bias_ih_l0"},
     {"kernel_initializer": "weight_ih_l0", "recurrent_initializer": "weight_hh_l0",
      "bias_initializer": "bias_hh_l0"}),
    ("MultiHeadAttention", lambda k: k.layers.MultiHeadAttention(4, 8), [(None, 3, 32)] * 2,
     lambda: nn.MultiheadAttention(32, 4),
     {"query/kernel": "in_proj_weight", "value/bias": "in_proj_bias",
      "attention_output/kernel": "out_proj.weight", "attention_output/bias": "out_proj.bias"},
     {"_kernel_initializer": "in_proj_weight", "_bias_initializer": "in_proj_bias"}),
    ("BatchNormalization", lambda k: k.layers.BatchNormalization(), [(None, 6)],
     lambda: nn.BatchNorm1d(6),
     {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
      "moving_variance": "running_var"},
     {"gamma_initializer": "weight", "beta_initializer": "bias",
      "moving_mean_initializer": "running_mean",
      "moving_variance_initializer": "running_var"}),
    ("LayerNormalization", lambda k: k.layers.LayerNormalization(), [(None, 6)],
     lambda: nn.LayerNorm(6), {"gamma": "weight", "beta": "bias"},
     {"gamma_initializer": "weight", "beta_initializer": "bias"}),
    ("GroupNormalization", lambda k: k.layers.GroupNormalization(2), [(None, 6)],
     lambda: nn.GroupNorm(2, 6), {"gamma": "weight", "beta": "bias"},
     {"gamma_initializer": "weight", "beta_initializer": "bias"}),
    ("PReLU", lambda k: k.layers.PReLU(), [(None, 6)], lambda: nn.PReLU(6),
     {"alpha": "weight"}, {"alpha_initializer": "weight"}),
]


@pytest.fixture(scope="module")
def keras() -> object:
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _build(layer: object, shapes: list[tuple[int | None, ...]]) -> object:
    layer.build(*shapes)  # type: ignore[attr-defined]
    return layer


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_shapes_and_default_initializers_match_keras(keras: object, case: Case) -> None:
    name, make_keras, shapes, make_torch, weights, inits = case
    layer = _build(make_keras(keras), shapes)
    module = make_torch()
    report = kerasinit.keras_defaults_(module)
    kweights = {w.path.split("/", 1)[1]: w for w in layer.weights}  # type: ignore[attr-defined]
    for suffix, param in weights.items():
        key = next(k for k in kweights if k.endswith(suffix))
        assert tuple(kweights[key].shape) == report[param].keras_shape, (name, suffix)
        assert report[param].keras_layer == type(layer).__name__
    holder = getattr(layer, "cell", layer)
    for attr, param in inits.items():
        keras_class = type(getattr(holder, attr)).__name__
        assert kerasinit.get(report[param].initializer).class_name == keras_class, (name, attr)


def test_embedding_range_and_lstm_forget_bias_values_match_keras(keras: object) -> None:
    emb = _build(keras.layers.Embedding(50, 6), [(None, 3)])  # type: ignore[attr-defined]
    config = emb.embeddings_initializer.get_config()  # type: ignore[attr-defined]
    ours = kerasinit.keras_defaults_(nn.Embedding(50, 6))["weight"].distribution
    assert ours == f"U[{config['minval']:g}, {config['maxval']:g})"
    lstm = _build(keras.layers.LSTM(8), [(None, 3, 5)])  # type: ignore[attr-defined]
    keras_bias = np.asarray(lstm.cell.bias)  # type: ignore[attr-defined]
    module = knn.LSTM(5, 8)
    torch_sum = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    assert np.array_equal(keras_bias, torch_sum)


def test_mha_query_kernel_std_matches_keras_315(keras: object) -> None:
    """Keras 3.15 (einsum fans): std √(2/(E+h·d)) = .0442 for E=512, h=8, d=64 (n=262 144)."""
    keras.utils.set_random_seed(0)  # type: ignore[attr-defined]
    mha = _build(keras.layers.MultiHeadAttention(8, 64),  # type: ignore[attr-defined]
                 [(None, 3, 512)] * 2)
    keras_std = float(np.std(np.asarray(mha.query_dense.kernel)))  # type: ignore[attr-defined]
    ours = knn.MultiheadAttention(512, 8, generator=torch.Generator().manual_seed(0))
    torch_std = float(ours.in_proj_weight.detach()[:512].std())
    assert torch_std == pytest.approx(keras_std, rel=0.01)


def test_seed_faithful_values_equal_real_keras_layers(keras: object) -> None:
    """With rng='tensorflow' and the same seeds, the torch weights mapped to Keras's layout
    (inverse maps written out here, from layer-map.md §2) equal the real Keras 3 layer's
    weights: this checks every layout's element order, the GRU gate reorder and bias rows, the
    LSTM two-call forget bias and the per-block MHA kernels. Tolerance 2e-7 (orthogonal's QR)."""
    k: Any = keras
    init = k.initializers

    def same(keras_weight: object, torch_as_keras: torch.Tensor) -> None:
        expected = np.asarray(keras_weight)
        got = torch_as_keras.detach().numpy()
        assert expected.shape == got.shape
        assert np.abs(expected - got).max() <= 2e-7

    def gru_keras(w: torch.Tensor) -> torch.Tensor:  # torch blocks r, z, n -> Keras z, r, h
        r, z, n = w.chunk(3, 0)
        out = torch.cat([z, r, n], 0)
        return out.T if w.dim() == 2 else out

    dense = _build(k.layers.Dense(3, kernel_initializer=init.GlorotUniform(seed=1)), [(None, 4)])
    same(dense.kernel, knn.Linear(4, 3, seed=1, rng="tensorflow").weight.T)

    dw = _build(k.layers.DepthwiseConv2D(3, depth_multiplier=2,
                                         depthwise_initializer=init.HeNormal(seed=2)),
                [(None, 5, 5, 4)])
    tdw = knn.DepthwiseConv2d(4, 3, depth_multiplier=2, depthwise_initializer="he_normal",
                              seed=2, rng="tensorflow")
    same(dw.kernel, tdw.weight.reshape(4, 2, 3, 3).permute(2, 3, 0, 1))

    gru = _build(k.layers.GRU(4, kernel_initializer=init.GlorotUniform(seed=3),
                              recurrent_initializer=init.Orthogonal(seed=4),
                              bias_initializer=init.RandomUniform(seed=5)), [(None, 2, 3)])
    tgru = knn.GRU(3, 4, rng="tensorflow", kernel_initializer=init.GlorotUniform(seed=3),
                   recurrent_initializer=init.Orthogonal(seed=4),
                   bias_initializer=init.RandomUniform(seed=5))
    same(gru.cell.kernel, gru_keras(tgru.weight_ih_l0))
    same(gru.cell.recurrent_kernel, gru_keras(tgru.weight_hh_l0))
    same(gru.cell.bias, torch.stack([gru_keras(tgru.bias_ih_l0), gru_keras(tgru.bias_hh_l0)]))

    lstm = _build(k.layers.LSTM(4, bias_initializer=init.RandomUniform(seed=6),
                                recurrent_initializer=init.Orthogonal(seed=7)), [(None, 2, 3)])
    tlstm = knn.LSTM(3, 4, rng="tensorflow", kernel_initializer="zeros",
                     bias_initializer=init.RandomUniform(seed=6),
                     recurrent_initializer=init.Orthogonal(seed=7))
    same(lstm.cell.bias, tlstm.bias_ih_l0 + tlstm.bias_hh_l0)
    same(lstm.cell.recurrent_kernel, tlstm.weight_hh_l0.T)

    mha = _build(k.layers.MultiHeadAttention(2, 4, kernel_initializer=init.GlorotUniform(seed=8)),
                 [(None, 3, 8), (None, 3, 8)])
    tmha = knn.MultiheadAttention(8, 2, rng="tensorflow",
                                  kernel_initializer=init.GlorotUniform(seed=8))
    for dense_layer, block in zip((mha.query_dense, mha.key_dense, mha.value_dense),
                                  tmha.in_proj_weight.chunk(3), strict=True):
        same(dense_layer.kernel, block.T.reshape(8, 2, 4))
    same(mha.output_dense.kernel, tmha.out_proj.weight.T.reshape(2, 4, 8))

    emb = _build(k.layers.Embedding(7, 3, embeddings_initializer=init.RandomUniform(seed=9)),
                 [(None, 2)])
    same(emb.embeddings, knn.Embedding(7, 3, seed=9, rng="tensorflow").weight)

    convt = _build(k.layers.Conv2DTranspose(5, 3, kernel_initializer=init.HeUniform(seed=10)),
                   [(None, 4, 4, 2)])
    tconvt = knn.ConvTranspose2d(2, 5, 3, kernel_initializer="he_uniform", seed=10,
                                 rng="tensorflow")
    same(convt.kernel, tconvt.weight.permute(2, 3, 1, 0))


def test_seed_faithful_values_equal_tf_keras_layers() -> None:
    """The same check against tf_keras 2 (keras_version="2": rank-rule MHA fans)."""
    pytest.importorskip("tensorflow")
    tfk: Any = pytest.importorskip("tf_keras")
    init = tfk.initializers
    lstm = tfk.layers.LSTM(4, bias_initializer=init.RandomUniform(seed=6),
                           recurrent_initializer=init.Orthogonal(seed=7))
    lstm.build((None, 2, 3))
    tlstm = knn.LSTM(3, 4, rng="tensorflow", keras_version="2", kernel_initializer="zeros",
                     bias_initializer=init.RandomUniform(seed=6),
                     recurrent_initializer=init.Orthogonal(seed=7))
    assert np.array_equal(np.asarray(lstm.cell.bias),
                          (tlstm.bias_ih_l0 + tlstm.bias_hh_l0).detach().numpy())
    mha = tfk.layers.MultiHeadAttention(2, 4, kernel_initializer=init.GlorotUniform(seed=8))
    x = np.zeros((1, 3, 8), "float32")
    mha(x, x)
    tmha = knn.MultiheadAttention(8, 2, rng="tensorflow", keras_version="2",
                                  kernel_initializer=init.GlorotUniform(seed=8))
    assert np.array_equal(np.asarray(mha._query_dense.kernel),
                          tmha.in_proj_weight.chunk(3)[0].T.reshape(8, 2, 4).detach().numpy())
    assert np.array_equal(np.asarray(mha._output_dense.kernel),
                          tmha.out_proj.weight.T.reshape(2, 4, 8).detach().numpy())
