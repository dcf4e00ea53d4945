"""Porting against live Keras: configs written at test time, read back, applied, compared.

Models covering every weight-bearing layer family are built once per module with the installed
Keras 3 (and tf_keras), saved as ``.keras``, ``to_json()`` and legacy ``.h5``, and read back:

* every plan row's initializer equals the spec parsed from the live layer's ``get_config()``,
  and every plan row's Keras shape equals the shape of the variable Keras actually built;
* ``keras.applications.EfficientNetB0(weights=None)`` (VarianceScaling(2, fan_out,
  truncated_normal) conv/depthwise kernels, VarianceScaling(1/3, fan_out, uniform) head);
* applying the plan to a torch twin gives, per parameter, the distribution of the Keras layer's
  actual initialized weights (two-sample KS + variance z-test, below).

Statistics (``_same_distribution``): fixed seeds (Keras ``set_random_seed(1234)``, torch
``Generator().manual_seed(1234)``), so the outcome is deterministic. Each tensor pair (torch
parameter vs the Keras layer's own initialized weight) gets a two-sample Kolmogorov-Smirnov test
and a z-test on the difference of the two sample variances (its standard error from the fourth
moments), each at alpha = 0.01 / 40 = 2.5e-4 (Bonferroni over <= 20 tensors x 2 tests;
two-sided z threshold 3.66). Sizes: n = m = 4,096 to 200,704 elements. Power: at n = 4,096 the
standard error of the variance ratio is 3.1% (normal), 2.6% (truncated normal), 2.0% (uniform),
so a 10% error in the standard deviation (21% in the variance) gives z >= 6.7, power > 0.999.
The KS test adds shape: a truncated and an untruncated normal of equal std differ by
D = 0.0167, above the KS critical value (0.0084 at n = 128,000: the Dense and Embedding
tensors). Measured on this run: every pair passes (KS p >= 0.13, variance ratios 0.975-1.020),
and the negative control (torch's default init of the depthwise conv, variance ratio 44) is
rejected with p ~ 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

tf = pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras = pytest.importorskip("keras")
stats = pytest.importorskip("scipy.stats")

from kerasinit.mappings.parse import parse_identifier  # noqa: E402
from kerasinit.porting import read  # noqa: E402

pytestmark = [pytest.mark.tf,
              pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5")]
ALPHA = 0.01 / 40


def image_model(K: Any) -> Any:
    L, Init = K.layers, K.initializers
    inp = K.Input((16, 16, 4))
    x = L.Conv2D(8, 3, kernel_initializer="he_normal", name="conv")(inp)
    x = L.Conv2D(8, 3, groups=2, kernel_initializer=Init.VarianceScaling(0.5, "fan_out", "uniform"),
                 name="gconv")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer="lecun_normal",
                          name="dw")(x)
    x = L.SeparableConv2D(8, 3, depth_multiplier=2, pointwise_initializer="glorot_normal",
                          name="sep")(x)
    x = L.BatchNormalization(gamma_initializer=Init.RandomNormal(1.0, 0.02), name="bn")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, kernel_initializer="he_uniform", name="deconv")(x)
    x = L.PReLU(shared_axes=[1, 2], name="prelu")(x)
    x = L.GroupNormalization(groups=2, name="gn")(x)
    x = L.GlobalAveragePooling2D()(x)
    nested = K.Sequential([L.Dense(6, kernel_initializer=Init.TruncatedNormal(stddev=0.02),
                                   name="inner_dense"),
                           L.LayerNormalization(name="ln")], name="nested")
    x = nested(x)
    shared = L.Dense(6, name="shared")
    x = L.Add()([shared(x), shared(x)])
    out = L.Dense(2, bias_initializer=Init.Constant(0.1), name="head")(x)
    return K.Model(inp, out)


def sequence_model(K: Any) -> Any:
    L, Init = K.layers, K.initializers
    inp = K.Input((12,), dtype="int32")
    x = L.Embedding(50, 8, embeddings_initializer="he_uniform", name="emb")(inp)
    x = L.Conv1D(8, 3, padding="same", name="conv1d")(x)
    x = L.SimpleRNN(6, return_sequences=True, recurrent_initializer=Init.Orthogonal(gain=2.0),
                    name="srnn")(x)
    x = L.Bidirectional(L.LSTM(5, return_sequences=True, unit_forget_bias=False, name="lstm"),
                        name="bi")(x)
    x = L.TimeDistributed(L.Dense(4, name="td_dense"), name="td")(x)
    gate = {"use_gate": True} if K.__name__ == "keras" else {}  # Keras 3 only
    x = L.MultiHeadAttention(2, 3, kernel_initializer="he_normal", name="mha", **gate)(x, x)
    x = L.Attention(use_scale=True, score_mode="concat", name="att")([x, x])
    x = L.AdditiveAttention(name="add_att")([x, x])
    x = L.EinsumDense("abc,cd->abd", output_shape=(None, 7), bias_axes="d", name="einsum")(x)
    x = L.GRU(4, name="gru")(x)
    return K.Model(inp, L.Dense(3, name="out")(x))


def video_model(K: Any) -> Any:
    L = K.layers
    inp = K.Input((3, 8, 8, 2))
    x = L.Conv3D(4, 2, name="conv3d")(inp)
    x = L.ConvLSTM2D(3, 3, name="convlstm")(x)
    return K.Model(inp, L.Dense(2, name="out")(L.Flatten()(x)))


def _keras_layer(model: Any, path: str) -> Any:
    parts = path.split("/")
    obj = model.get_layer(parts[0])
    for part in parts[1:]:
        if hasattr(obj, "forward_layer"):
            obj = obj.forward_layer if part.startswith("forward") else obj.backward_layer
        elif hasattr(obj, "layer") and not hasattr(obj, "layers"):
            obj = obj.layer
        else:
            obj = obj.get_layer(part)
    return obj


def _check_plan_against_model(plan: Any, model: Any, keras_version: str) -> None:
    """Plan initializers == live get_config(); plan shapes == the built variables' shapes."""
    assert str(plan.keras_version) == keras_version
    assert plan.layers, "empty plan"
    for layer in plan.layers:
        live = _keras_layer(model, layer.path)
        cfg = live.get_config()
        for row in layer.rows:
            if row.keyword in cfg:
                expected = parse_identifier(cfg[row.keyword], plan.keras_version)
                assert row.initializer == expected, (layer.path, row.weight)
        built = sorted(tuple(int(d) for d in w.shape) for w in live.weights)
        planned = sorted(r.keras_shape for r in layer.rows)
        assert planned == built, (layer.path, planned, built)
        assert all(r.resolved is not None for r in layer.rows), layer.path


@pytest.fixture(scope="module")
def keras3_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    out: dict[str, Any] = {}
    base = tmp_path_factory.mktemp("k3")
    for name, build in (("image", image_model), ("sequence", sequence_model),
                        ("video", video_model)):
        model = build(keras)
        model.save(base / f"{name}.keras")
        model.save(base / f"{name}.h5")
        (base / f"{name}.json").write_text(model.to_json())
        out[name] = model
    out["dir"] = base
    return out


@pytest.mark.parametrize("name", ["image", "sequence", "video"])
@pytest.mark.parametrize("fmt", ["keras", "h5", "json"])
def test_keras3_plan_equals_live_config(keras3_files: dict[str, Any], name: str, fmt: str) -> None:
    plan = read(keras3_files["dir"] / f"{name}.{fmt}")
    # to_json() records no version; the form says Keras 3 and input_axes keys say >= 3.15
    _check_plan_against_model(plan, keras3_files[name], "3" if fmt == "json" else "3.15.1")


def test_keras3_mha_uses_einsum_fans(keras3_files: dict[str, Any]) -> None:
    plan = read(keras3_files["dir"] / "sequence.keras")
    q = next(r for r in plan.rows if r.layer == "mha" and r.weight == "query/kernel")
    assert q.keras_shape == (4, 2, 3)
    assert (q.resolved.fan_in, q.resolved.fan_out) == (4, 6)
    old = read(keras3_files["dir"] / "sequence.keras", keras_version="3.14")
    q_old = next(r for r in old.rows if r.layer == "mha" and r.weight == "query/kernel")
    assert (q_old.resolved.fan_in, q_old.resolved.fan_out) == (8, 12)


def test_efficientnet_b0(tmp_path: Path) -> None:
    model = keras.applications.EfficientNetB0(weights=None)
    path = tmp_path / "effnet.keras"
    model.save(path)
    plan = read(path)
    _check_plan_against_model(plan, model, "3.15.1")
    specs = {(r.class_name, r.initializer) for r in plan.rows if r.role.endswith("kernel")}
    conv = parse_identifier({"class_name": "VarianceScaling", "config": {
        "scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}, plan.keras_version)
    head = parse_identifier({"class_name": "VarianceScaling", "config": {
        "scale": 1 / 3, "mode": "fan_out", "distribution": "uniform"}}, plan.keras_version)
    assert ("Conv2D", conv) in specs and ("DepthwiseConv2D", conv) in specs
    assert ("Dense", head) in specs
    normalization = sum(int(np.prod(w.shape)) for w in model.get_layer("normalization").weights)
    planned = sum(math.prod(r.keras_shape) for r in plan.rows)
    assert planned == model.count_params() - normalization


@pytest.fixture(scope="module")
def tf_keras_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tk = pytest.importorskip("tf_keras")
    tk.utils.set_random_seed(0)
    base = tmp_path_factory.mktemp("tk")
    out: dict[str, Any] = {"dir": base}
    for name, build in (("image", image_model), ("sequence", sequence_model)):
        model = build(tk)
        model.save(base / f"{name}.h5")
        (base / f"{name}.json").write_text(model.to_json())
        out[name] = model
    return out


@pytest.mark.parametrize("name", ["image", "sequence"])
@pytest.mark.parametrize("fmt", ["h5", "json"])
def test_tf_keras_plan_equals_live_config(tf_keras_files: dict[str, Any], name: str,
                                          fmt: str) -> None:
    plan = read(tf_keras_files["dir"] / f"{name}.{fmt}")
    _check_plan_against_model(plan, tf_keras_files[name], "2.21.0")
    if name == "sequence":  # tf_keras: rank rule on (E, h, d), not einsum axes
        q = next(r for r in plan.rows if r.layer == "mha" and r.weight == "query/kernel")
        assert (q.resolved.fan_in, q.resolved.fan_out) == (8, 12)


# -- apply vs the Keras layers' actual weights -----------------------------------------------------
def stats_model() -> Any:
    L = keras.layers
    keras.utils.set_random_seed(1234)
    a = keras.Input((784,))
    b = keras.Input((8, 8, 256))
    c = keras.Input((10,), dtype="int32")
    d = L.Dense(256, kernel_initializer="he_normal", name="dense")(a)
    e = L.DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer="he_normal", name="dw")(b)
    x = L.Embedding(4000, 32, embeddings_initializer="he_normal", name="emb")(c)
    x = L.LSTM(64, return_sequences=True, name="lstm")(x)
    x = L.GRU(64, return_sequences=True, name="gru")(x)
    x = L.MultiHeadAttention(4, 16, name="mha")(x, x)
    return keras.Model([a, b, c], [d, e, x])


class Twin(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dense = nn.Linear(784, 256)
        self.dw = nn.Conv2d(256, 512, 3, groups=256)
        self.emb = nn.Embedding(4000, 32)
        self.lstm = nn.LSTM(32, 64)
        self.gru = nn.GRU(64, 64)
        self.mha = nn.MultiheadAttention(64, 4)


MAPPING = {"dense": "dense", "dw": "dw", "emb": "emb", "lstm": "lstm", "gru": "gru", "mha": "mha"}


def _same_distribution(torch_values: torch.Tensor, keras_values: np.ndarray) -> tuple[bool, str]:
    t = torch_values.detach().double().flatten().numpy()
    k = np.asarray(keras_values, dtype=np.float64).ravel()
    ks = stats.ks_2samp(t, k)
    var_t, var_k = t.var(), k.var()
    se = math.sqrt(((t - t.mean()) ** 4).mean() / t.size + ((k - k.mean()) ** 4).mean() / k.size)
    z = (var_t - var_k) / se
    p_var = 2 * stats.norm.sf(abs(z))
    ok = ks.pvalue > ALPHA and p_var > ALPHA
    return ok, f"n={t.size}/{k.size} KS p={ks.pvalue:.3g}, var ratio {var_t / var_k:.4f} p={p_var:.3g}"


def test_apply_matches_keras_weights_statistically() -> None:
    model = stats_model()
    plan = read(json.loads(model.to_json()), keras_version="3.15.1")
    twin = Twin()
    naive_dw = twin.dw.weight.detach().clone()  # torch's default init, for the negative control
    report = plan.apply(twin, mapping=MAPPING, generator=torch.Generator().manual_seed(1234))
    assert report.ok, report.problems
    w = {v.path: v.numpy() for v in model.weights}
    E = 64
    pairs = {
        "dense.weight": w["dense/kernel"], "dw.weight": w["dw/kernel"],
        "emb.weight": w["emb/embeddings"],
        "lstm.weight_ih_l0": w["lstm/lstm_cell/kernel"],
        "lstm.weight_hh_l0": w["lstm/lstm_cell/recurrent_kernel"],
        "gru.weight_ih_l0": w["gru/gru_cell/kernel"],
        "gru.weight_hh_l0": w["gru/gru_cell/recurrent_kernel"],
        "mha.out_proj.weight": w["mha/attention_output/kernel"],
    }
    for i, part in enumerate(("query", "key", "value")):
        pairs[f"mha.in_proj_weight[{i}]"] = w[f"mha/{part}/kernel"]
    failures = []
    for name, keras_values in pairs.items():
        if name.startswith("mha.in_proj_weight"):
            i = int(name[-2])
            values = twin.mha.in_proj_weight[i * E:(i + 1) * E]
        else:
            values = twin.get_parameter(name)
        ok, text = _same_distribution(values, keras_values)
        if not ok:
            failures.append(f"{name}: {text}")
    assert not failures, failures
    # exact constants: LSTM bias (forget block 1) = b_ih + b_hh; GRU (2, 3H) rows (all zeros)
    lstm_bias = (twin.lstm.bias_ih_l0 + twin.lstm.bias_hh_l0).detach().numpy()
    np.testing.assert_array_equal(lstm_bias, w["lstm/lstm_cell/bias"])
    assert not np.any(w["gru/gru_cell/bias"]) and not torch.any(twin.gru.bias_ih_l0)
    # negative control: torch's default depthwise init is far from Keras's (fan_in K vs in*K)
    ok, text = _same_distribution(naive_dw, w["dw/kernel"])
    assert not ok, text


def test_seeded_file_reproduces_keras_values_bit_for_bit() -> None:
    """Seeded initializers in the file + rng="tensorflow": the exact values Keras drew."""
    from kerasinit.bridge.layouts import Depthwise, TorchLayout

    L, Init = keras.layers, keras.initializers
    inp = keras.Input((8, 8, 16))
    x = L.Conv2D(8, 3, kernel_initializer=Init.HeNormal(seed=3), name="conv")(inp)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer=Init.GlorotUniform(seed=5),
                          name="dw")(x)
    out = L.Dense(4, kernel_initializer=Init.RandomNormal(seed=7),
                  bias_initializer=Init.RandomUniform(seed=9), name="fc")(L.Flatten()(x))
    model = keras.Model(inp, out)
    plan = read(json.loads(model.to_json()), keras_version="3.15.1")
    twin = nn.Sequential(nn.Conv2d(16, 8, 3), nn.Conv2d(8, 16, 3, groups=8), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 4))
    assert plan.apply(twin, rng="tensorflow").ok
    w = {v.path: v.numpy() for v in model.weights}
    np.testing.assert_array_equal(TorchLayout().to_keras(twin[0].weight).detach().numpy(),
                                  w["conv/kernel"])
    np.testing.assert_array_equal(Depthwise(2).to_keras(twin[1].weight).detach().numpy(),
                                  w["dw/kernel"])
    np.testing.assert_array_equal(twin[3].weight.T.detach().numpy(), w["fc/kernel"])
    np.testing.assert_array_equal(twin[3].bias.detach().numpy(), w["fc/bias"])
