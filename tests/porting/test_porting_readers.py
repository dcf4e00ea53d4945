"""Porting readers and plans without TensorFlow: historical fixtures, every input form, bad files.

The fixtures in ``tests/data/porting/`` were written by hand from
``shared/reference/keras-initializers.md`` (§3.4, §4.3, §7.3): Keras 1.2.2 (``init`` strings,
untruncated ``glorot_normal``/``he_normal``, ``orthogonal`` gain 1.1, per-gate LSTM weights),
Keras 2.0.2 (rank-3 fans with rf = prod(shape[:2])), Keras 2.0.8 (``VarianceScaling`` with
``"normal"`` = truncated normal with NO 1/0.8796 correction) and Keras 2.2.4 (corrected).
Expected numbers are recomputed here from the reference formulas, not read from the code.
"""

from __future__ import annotations

import json
import marshal
import math
import zipfile
from pathlib import Path

import pytest

from kerasinit import KerasInitError
from kerasinit.cli import main
from kerasinit.mappings.distributions import Normal, TruncatedNormal, Uniform
from kerasinit.porting import (
    CustomObjectError,
    ModelFileError,
    UnknownLayerError,
    read,
)
from kerasinit.porting import bounded as readers_module

DATA = Path(__file__).parents[1] / "data" / "porting"
C = 0.87962566103423978


def _row(plan, layer, weight):
    return next(r for r in plan.rows if r.layer == layer and r.weight == weight)


# -- historical fixtures ---------------------------------------------------------------------
def test_keras1_text_model_semantics():
    plan = read(DATA / "keras1_text_lstm.json")
    assert str(plan.keras_version) == "1.2.2"
    emb = _row(plan, "embedding_1", "embeddings")
    assert emb.keras_shape == (1000, 64)
    assert emb.resolved.distribution == Uniform(-0.05, 0.05)  # Keras 1 "uniform": scale 0.05
    kernel = _row(plan, "lstm_1", "kernel")
    assert (kernel.keras_shape, kernel.blocks) == ((64, 128), 4)  # consume_less='cpu': per gate
    limit = math.sqrt(6 / (64 + 32))  # glorot on one (64, 32) gate block
    assert kernel.resolved.distribution.high == pytest.approx(limit)
    rec = _row(plan, "lstm_1", "recurrent_kernel")
    assert rec.initializer.gain == pytest.approx(1.1)  # Keras 1 orthogonal(scale=1.1)
    dense = _row(plan, "dense_1", "kernel")
    assert dense.keras_shape == (32, 10)
    assert dense.resolved.distribution == Normal(0.0, pytest.approx(math.sqrt(2 / 32)))  # untruncated
    assert plan.layer("lstm_1").options["unit_forget_bias"] is True


def test_keras1_th_cnn_shapes_propagate_through_pool_and_flatten():
    plan = read(DATA / "keras1_cnn_th.json")
    conv = _row(plan, "convolution2d_1", "kernel")
    assert conv.keras_shape == (3, 3, 1, 8)
    assert (conv.resolved.fan_in, conv.resolved.fan_out) == (9, 72)
    assert isinstance(conv.resolved.distribution, Normal)  # Keras 1 glorot_normal: untruncated
    assert conv.resolved.distribution.std == pytest.approx(math.sqrt(2 / 81))
    assert _row(plan, "batchnormalization_1", "gamma").keras_shape == (8,)  # axis=1 ('th')
    # 28 -> 26 (valid 3x3) -> 13 (pool 2): 8 * 13 * 13 = 1352 features
    assert _row(plan, "dense_2", "kernel").keras_shape == (1352, 10)


def test_keras2_0_8_normal_has_no_truncation_correction():
    plan = read(DATA / "keras2_0_8_cnn.json")
    conv = _row(plan, "conv2d_1", "kernel")
    dist = conv.resolved.distribution
    assert isinstance(dist, TruncatedNormal)
    assert dist.std == pytest.approx(math.sqrt(2 / 9))  # sigma = sqrt(scale/n), no /C
    assert (dist.low, dist.high) == (pytest.approx(-2 * math.sqrt(2 / 9)),
                                     pytest.approx(2 * math.sqrt(2 / 9)))
    # the same config read as tf_keras: corrected
    modern = read(DATA / "keras2_0_8_cnn.json", keras_version="2")
    assert _row(modern, "conv2d_1", "kernel").resolved.distribution.std == pytest.approx(
        math.sqrt(2 / 9) / C)
    assert "override" in modern.version_source
    assert _row(plan, "dense_1", "kernel").keras_shape == (13 * 13 * 16, 64)


def test_keras2_2_4_normal_is_corrected_and_functional_walk():
    plan = read(DATA / "keras2_2_4_functional.json")
    dense = _row(plan, "shared_dense", "kernel")
    assert dense.keras_shape == (32, 8)  # Bidirectional concat: 2 * 16
    assert dense.resolved.distribution.std == pytest.approx(math.sqrt(2 / 32) / C)
    assert [layer.path for layer in plan.layers] == [
        "embedding_1", "bidirectional_1/forward_lstm_1", "bidirectional_1/backward_lstm_1",
        "shared_dense", "dense_out"]
    assert plan.layer("shared_dense").calls == 2
    assert any("shared" in n for n in plan.notes)


def test_keras2_0_2_rank3_fan_bug_and_gru_bias():
    plan = read(DATA / "keras2_0_2_conv1d_gru.json")
    conv = _row(plan, "conv1d_1", "kernel")
    # 2.0.0-2.0.5: rf = prod(shape[:2]) = 5 * 8 -> fans (8 * 40, 16 * 40)
    assert (conv.resolved.fan_in, conv.resolved.fan_out) == (320, 640)
    assert read(DATA / "keras2_0_2_conv1d_gru.json", keras_version="2.0.8").rows[0].resolved.fan_in == 40
    assert _row(plan, "gru_1", "bias").keras_shape == (36,)  # no reset_after in Keras 2.0
    assert _row(plan, "gru_1", "kernel").keras_shape == (16, 36)  # 100-5+1 steps, 16 features


# -- input forms ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["path", "str_path", "json_text", "bytes", "dict"])
def test_every_input_form_gives_the_same_plan(kind):
    path = DATA / "keras2_2_4_functional.json"
    source = {"path": path, "str_path": str(path), "json_text": path.read_text(),
              "bytes": path.read_bytes(), "dict": json.loads(path.read_text())}[kind]
    plan = read(source)
    reference = read(path)
    assert [r.to_dict() for r in plan.rows] == [r.to_dict() for r in reference.rows]


def test_keras_archive_by_content(tmp_path):
    config = json.loads((DATA / "keras2_0_8_cnn.json").read_text())
    target = tmp_path / "model.bin"  # the name does not matter; the content does
    with zipfile.ZipFile(target, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "2.2.0"}))
        z.writestr("config.json", json.dumps(config))
    plan = read(target)
    assert str(plan.keras_version) == "2.2.0"  # metadata.json wins over the config's key
    assert "archive" in plan.source


def test_h5_reader(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = (DATA / "keras2_0_8_cnn.json").read_text()
        f.attrs["keras_version"] = b"2.1.6"
    plan = read(path)
    assert str(plan.keras_version) == "2.1.6"
    assert len(plan.rows) == 10


def test_plan_str_and_json_round_trip():
    plan = read(DATA / "keras2_0_8_cnn.json")
    text = str(plan)
    assert "conv2d_1" in text and "(3, 3, 1, 16)" in text and "Keras 2.0.8" in text
    data = json.loads(plan.to_json())
    assert data["keras_version"] == "2.0.8"
    assert [r["keras_shape"] for r in data["rows"]][:2] == [[3, 3, 1, 16], [16]]
    assert data["rows"][0]["initializer"]["class_name"] == "VarianceScaling"


def test_cli_inspect(tmp_path, capsys):
    assert main(["inspect", str(DATA / "keras1_text_lstm.json")]) == 0
    out = capsys.readouterr().out
    assert "lstm_1" in out and "Keras 1.2.2" in out
    assert main(["inspect", "--json", "--keras-version", "1.0.4",
                 str(DATA / "keras1_text_lstm.json")]) == 0
    assert json.loads(capsys.readouterr().out)["keras_version"] == "1.0.4"
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps(_with_layer({"class_name": "MyDense", "config": {
        "name": "mine", "kernel_initializer": "he_normal"}})))
    assert main(["inspect", str(custom)]) == 1
    assert "MyDense" in capsys.readouterr().err
    assert main(["inspect", "--lenient", str(custom)]) == 0
    assert "skipped mine (MyDense)" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert main(["inspect", str(bad)]) == 1
    assert "not a Keras model" in capsys.readouterr().err


# -- bad files ----------------------------------------------------------------------------------
def test_zip_without_config(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.weights.h5", b"x")
    with pytest.raises(ModelFileError, match=r"without config.json.*'model.weights.h5'"):
        read(path)


def test_truncated_archive(tmp_path):
    good = tmp_path / "good.keras"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("config.json", (DATA / "keras2_0_8_cnn.json").read_text())
    bad = tmp_path / "bad.keras"
    bad.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ModelFileError, match=r"truncated or corrupted"):
        read(bad)


def test_truncated_json(tmp_path):
    path = tmp_path / "m.json"
    path.write_text((DATA / "keras2_0_8_cnn.json").read_text()[:300])
    with pytest.raises(ModelFileError, match=r"not valid JSON"):
        read(path)


@pytest.mark.parametrize("text", ['{"a": 1}', '{"class_name": "Dense"}', "[]", '"x"'])
def test_non_model_json(text):
    with pytest.raises(ModelFileError):
        read(text if text.startswith(("{", "[")) else json.loads(f"[{text}]")[0] + ".json")


def test_h5_without_model_config(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
    with pytest.raises(ModelFileError, match=r"no 'model_config'.*weights-only"):
        read(path)


def test_oversized_config_is_refused(monkeypatch):
    monkeypatch.setattr(readers_module, "MAX_CONFIG_BYTES", 1000)
    with pytest.raises(ModelFileError, match=r"MiB"):
        read(DATA / "keras2_0_8_cnn.json")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ModelFileError, match=r"No such file"):
        read(tmp_path / "nope.keras")
    with pytest.raises(ModelFileError, match=r"directory"):
        read(tmp_path)


def _with_layer(layer: dict) -> dict:
    base = json.loads((DATA / "keras2_0_8_cnn.json").read_text())
    base["config"].insert(4, layer)
    return base


def test_unknown_weight_bearing_layer():
    custom = {"class_name": "MyFancyDense", "config": {"name": "fancy", "units": 3,
              "kernel_initializer": "he_normal"}}
    with pytest.raises(UnknownLayerError, match=r"'fancy' \(MyFancyDense.*kernel_initializer"):
        read(_with_layer(custom))
    plan = read(_with_layer(custom), strict=False)
    assert [s.path for s in plan.skipped] == ["fancy"]
    assert "skipped fancy" in str(plan)
    weightless = {"class_name": "MyScale", "config": {"name": "scale", "factor": 2}}
    assert any("MyScale" in n for n in read(_with_layer(weightless)).notes)


def test_lambda_code_is_never_unmarshalled(monkeypatch, tmp_path):
    marker = tmp_path / "pwned"
    code = compile(f"open({str(marker)!r}, 'w').write('x')", "<lambda>", "exec")
    import base64

    payload = base64.b64encode(marshal.dumps(code)).decode()
    lam = {"class_name": "Lambda", "config": {"name": "lam", "function": [payload, None, None],
           "function_type": "lambda", "module": "os", "output_shape": None}}

    def boom(*args, **kwargs):
        raise AssertionError("marshal.loads must never be called on a config")

    monkeypatch.setattr(marshal, "loads", boom)
    plan = read(_with_layer(lam))
    assert not marker.exists()
    assert any("Lambda layer 'lam'" in n for n in plan.notes)


def test_custom_initializers_listed_and_mapped():
    layer = {"class_name": "Dense", "config": {"name": "d9", "units": 3,
             "kernel_initializer": {"class_name": "MyInit", "config": {"k": 1}},
             "bias_initializer": {"module": None, "class_name": "OtherInit", "config": {},
                                  "registered_name": "Custom>OtherInit"}}}
    with pytest.raises(CustomObjectError, match=r"'MyInit' \(in d9\); 'OtherInit'.*custom_objects"):
        read(_with_layer(layer))
    import kerasinit

    plan = read(_with_layer(layer), custom_objects={
        "MyInit": "he_normal", "Custom>OtherInit": kerasinit.get("ones")})
    assert _row(plan, "d9", "kernel").initializer.name == "he_normal"
    assert _row(plan, "d9", "bias").initializer.name == "ones"


def test_errors_are_keras_init_errors():
    for bad in ('{"class_name": 3, "config": {}}', '{"class_name": "Sequential", "config": 5}'):
        with pytest.raises(KerasInitError):
            read(bad)


@pytest.mark.parametrize("config", [
    {"class_name": "GlorotUniform", "config": {"seed": None}},
    {"module": None, "class_name": "MyModel", "config": {"units": 3}, "registered_name": "Custom>MyModel"},
])
def test_non_model_top_level_objects(config):
    with pytest.raises(ModelFileError, match=r"no layer list"):
        read(config)


@pytest.mark.parametrize("attrs", [{"model_config": "{not json"}, {"model_config": 5},
                                   {"model_config": '{"a": 1}'}])
def test_bad_model_config_in_an_attrs_dict(attrs):
    with pytest.raises(ModelFileError):
        read(attrs)


def test_attrs_dict_with_model_config_text():
    text = (DATA / "keras2_0_8_cnn.json").read_text()
    plan = read({"model_config": text, "keras_version": "2.1.2"})
    assert str(plan.keras_version) == "2.1.2"

