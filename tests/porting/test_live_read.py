"""``porting.read(live_keras_model)``: the rows of a file read, the built shapes, the live seeds.

A Keras 3 model with every built-in weight-bearing layer family is built once per module.
Checks, all exact (no statistics):

* the live plan's rows equal those of ``read(model.to_json())`` (layer path, weight, Keras
  shape, initializer spec), and every Keras weight of the model is in exactly one row (state
  layers excepted, which are named in the notes);
* ``live_seed`` is the seed each initializer object drew: drawing with it through kerasinit's
  TensorFlow-faithful stream gives the Keras variable's initial value bit for bit;
* weights a layer creates itself are planned from its ``<name>_initializer`` attribute; one with
  no initializer in sight raises ``UnknownLayerError`` (or is in ``plan.skipped``);
* kerasinit does not import Keras to tell a Keras object from a file path.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras = pytest.importorskip("keras")

from kerasinit.bridge.initializer import Initializer  # noqa: E402
from kerasinit.porting import UnknownLayerError, read  # noqa: E402
from kerasinit.porting.live import is_keras_object  # noqa: E402

pytestmark = [pytest.mark.tf]


class Scaled(keras.layers.Layer):  # a custom layer following Keras's naming convention
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale_initializer = keras.initializers.RandomNormal(stddev=0.5)

    def build(self, shape: Any) -> None:
        self.scale = self.add_weight(name="scale", shape=(shape[-1],),
                                     initializer=self.scale_initializer)

    def call(self, x: Any) -> Any:
        return x * self.scale


class Opaque(keras.layers.Layer):  # a weight whose initializer is nowhere to be read
    def build(self, shape: Any) -> None:
        self.w = self.add_weight(name="w", shape=(shape[-1], 2), initializer="ones")

    def call(self, x: Any) -> Any:
        return x @ self.w


def _models() -> dict[str, Any]:
    L = keras.layers
    keras.utils.set_random_seed(7)
    img = keras.Input((8, 8, 4))
    x = L.Conv2D(6, 3, name="conv")(img)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(x)
    x = L.SeparableConv2D(4, 1, name="sep")(x)
    x = L.BatchNormalization(name="bn")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, name="deconv")(x)
    x = L.PReLU(shared_axes=[1, 2], name="prelu")(x)
    x = L.GroupNormalization(groups=2, name="gn")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.SpectralNormalization(L.Dense(5, name="sn_dense"), name="sn")(x)
    x = keras.Sequential([L.Dense(6, name="inner"), L.LayerNormalization(name="ln")],
                         name="nested")(x)
    image = keras.Model(img, L.RMSNormalization(name="rms")(x), name="image")
    tok = keras.Input((6,), dtype="int32")
    s = L.Embedding(30, 8, name="emb")(tok)
    s = L.Bidirectional(L.LSTM(3, return_sequences=True, name="lstm"), name="bi")(s)
    s = L.MultiHeadAttention(2, 3, kernel_initializer="he_normal", name="mha")(s, s)
    s = L.GroupQueryAttention(2, 4, 2, name="gqa")(s, s)
    s = L.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d", name="einsum")(s)
    s = L.GRU(4, return_sequences=True, name="gru")(s)
    vid = keras.Input((2, 5, 5, 2))
    v = L.ConvLSTM2D(2, 3, name="convlstm")(vid)
    seq = keras.Model([tok, vid], [L.Dense(2, name="out")(s), L.Flatten()(v)], name="seq")
    return {"image": image, "sequence": seq}


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return _models()


def _key(row: Any) -> tuple[Any, ...]:
    return (row.layer, row.weight, row.keras_shape, row.initializer)


@pytest.mark.parametrize("name", ["image", "sequence"])
def test_live_rows_equal_file_rows(models: dict[str, Any], name: str) -> None:
    model = models[name]
    live, saved = read(model), read(model.to_json(), keras_version=keras.__version__)
    assert [_key(r) for r in live.rows] == [_key(r) for r in saved.rows]
    assert str(live.keras_version) == keras.__version__
    paths = sorted(r.variable_path for r in live.rows)
    assert paths == sorted(v.path for v in model.weights)  # every weight, exactly once
    for row in live.rows:
        assert row.keras_shape == tuple(model.get_variable_by_path(row.variable_path).shape) \
            if hasattr(model, "get_variable_by_path") else True


def _variables(model: Any) -> dict[str, np.ndarray]:
    return {v.path: np.asarray(v.numpy()) for v in model.weights}


@pytest.mark.parametrize("name", ["image", "sequence"])
def test_live_seeds_reproduce_keras_values(models: dict[str, Any], name: str) -> None:
    plan, values = read(models[name]), _variables(models[name])
    checked = 0
    for row in plan.rows:
        if not row.initializer.is_random or row.weight == "vector_u":
            continue  # SpectralNormalization builds vector_u's initializer inline: no seed kept
        assert row.live_seed is not None, (row.layer, row.weight)
        assert getattr(row.initializer, "seed", None) is None  # the config says None
        spec = dataclasses.replace(row.initializer, seed=row.live_seed)  # type: ignore[arg-type]
        fans = None if row.resolved is None else (row.resolved.fan_in, row.resolved.fan_out)
        drawn = Initializer(spec, row.keras_version)(torch.empty(row.keras_shape), layout="keras",
                                                     fans=fans, rng="tensorflow")
        expected = values[row.variable_path]
        if spec.class_name == "Orthogonal":  # a QR on another LAPACK: equal to rounding
            np.testing.assert_allclose(drawn.numpy(), expected, atol=1e-5)
        else:
            np.testing.assert_array_equal(drawn.numpy(), expected)
        checked += 1
    assert checked == (7 if name == "image" else 19)


def test_own_weights_from_initializer_attributes() -> None:
    inp = keras.Input((3,))
    model = keras.Model(inp, Scaled(name="scaled")(keras.layers.Dense(3, name="d")(inp)))
    plan = read(model)
    row = plan.layer("scaled").rows[0]
    assert (row.weight, row.keyword, row.keras_shape) == ("scale", "scale_initializer", (3,))
    assert row.initializer.class_name == "RandomNormal" and row.initializer.stddev == 0.5
    assert row.live_seed == model.get_layer("scaled").scale_initializer.seed


def test_weight_without_initializer_is_never_dropped() -> None:
    inp = keras.Input((3,))
    model = keras.Model(inp, Opaque(name="opaque")(keras.layers.Dense(3, name="d")(inp)))
    with pytest.raises(UnknownLayerError, match=r"opaque.*opaque/w \(3, 2\)"):
        read(model)
    plan = read(model, strict=False)
    assert [(s.path, s.class_name) for s in plan.skipped] == [("opaque", "Opaque")]
    assert [r.layer for r in plan.rows] == ["d", "d"]


def test_state_layers_are_named_not_planned() -> None:
    norm = keras.layers.Normalization(mean=0.0, variance=1.0, name="norm")
    inp = keras.Input((4,))
    adapt = keras.layers.Normalization(name="adapted")
    adapt.adapt(np.ones((3, 4), "float32"))
    model = keras.Model(inp, keras.layers.Dense(2, name="d")(adapt(norm(inp))))
    plan = read(model)
    assert [r.layer for r in plan.rows] == ["d", "d"]
    assert any(n.startswith("adapted (Normalization): its weights are state") for n in plan.notes)


def test_every_weight_bearing_keras_layer_has_a_rule() -> None:
    """Every keras.layers class whose code (its own or a base class's, in keras.src.layers)
    calls ``self.add_weight(`` has a rule, except the state layer Normalization; RNN only
    mentions add_weight in its docstring (its cell is planned)."""
    import inspect

    from kerasinit.porting.live_walk import rule_of

    uncovered = set()
    for name in dir(keras.layers):
        cls = getattr(keras.layers, name)
        if not (inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)):
            continue
        if rule_of(object.__new__(cls)) is not None:
            continue
        modules = {c.__module__ for c in cls.__mro__
                   if c.__module__.startswith("keras.src.layers.")
                   and c.__module__ != "keras.src.layers.layer"}
        if any("self.add_weight(" in inspect.getsource(sys.modules[m]) for m in modules):
            uncovered.add(name)
    assert uncovered == {"Normalization", "RNN"}


def test_detection_does_not_import_keras() -> None:
    code = ("import sys, kerasinit.porting as p; "
            "assert not p.live.is_keras_object('m.keras'); "
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert is_keras_object(keras.layers.Dense(2)) and not is_keras_object(torch.nn.Linear(2, 2))


class RMSNormalization(keras.layers.Layer):  # a model's own class borrowing a Keras name
    def build(self, shape: Any) -> None:
        self.scale = self.add_weight(name="scale", shape=(shape[-1],), initializer="zeros")

    def call(self, x: Any) -> Any:
        return x * self.scale


def test_a_borrowed_keras_class_name_is_not_taken_at_its_word() -> None:
    """keras_hub's Gemma has its own ``RMSNormalization`` whose scale starts at zeros, where
    Keras's starts at ones: only Keras's (and keras_hub's public layers') names are trusted."""
    inp = keras.Input((3,))
    model = keras.Model(inp, RMSNormalization(name="rms")(inp))
    with pytest.raises(UnknownLayerError, match=r"rms/scale \(3,\)"):
        read(model)
    builtin = keras.Model(inp, keras.layers.RMSNormalization(name="rms2")(inp))
    assert [(r.weight, r.initializer.class_name) for r in read(builtin).rows] == [("scale", "Ones")]


def test_tf_keras_live_rows_equal_file_rows() -> None:
    tk = pytest.importorskip("tf_keras")
    L = tk.layers
    inp = tk.Input((6,), dtype="int32")
    x = L.Embedding(30, 8, name="emb")(inp)
    x = L.Bidirectional(L.LSTM(3, return_sequences=True), name="bi")(x)
    x = L.MultiHeadAttention(2, 3, name="mha")(x, x)
    x = L.BatchNormalization(name="bn")(L.GRU(4, name="gru")(x))
    model = tk.Model(inp, L.Dense(2, name="out")(x))
    live = read(model)
    saved = read(model.to_json(), keras_version=f"{tk.__version__}-tf")
    assert str(live.keras_version) == str(saved.keras_version) == tk.__version__
    assert [_key(r) for r in live.rows] == [_key(r) for r in saved.rows]
    assert len(live.rows) == len(model.weights) == 24


def test_convnext_layer_scale_is_planned_live_and_from_a_file() -> None:
    """ConvNeXt's LayerScale has no initializer key (``init_values``) and an unnamed weight:
    all 18 are planned, so live and file plans have all 182 weights of ConvNeXtTiny."""
    model = keras.applications.ConvNeXtTiny(weights=None, input_shape=(32, 32, 3))
    live = read(model)
    saved = read(model.to_json(), keras_version=keras.__version__)
    assert [_key(r) for r in live.rows] == [_key(r) for r in saved.rows]
    assert len(live.rows) == len(model.weights) == 182
    scales = [r for r in live.rows if r.class_name == "LayerScale"]
    assert len(scales) == 18
    assert {(r.initializer.class_name, r.initializer.value) for r in scales} == {
        ("Constant", 1e-6)}
    assert scales[0].keras_shape == (96,) and scales[0].variable_path.endswith("/variable")
