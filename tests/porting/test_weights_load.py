"""plan.load_weights and porting.verify against live Keras: every weight family, every format.

Keras models are built once per module with the installed Keras 3, given random trained-like
weights (random arrays, and BatchNorm statistics from the batch plus noise), saved as
``.keras``, legacy ``.h5`` and ``.weights.h5`` and loaded into hand-written torch twins. Each
torch tensor must equal the Keras array moved by hand (tests/porting/weights_twins.py) bit for
bit, and ``verify`` must report every layer within 1e-5 (max|Δ| / max|Keras|). Negative
controls (GRU gates in Keras order, a flipped or transposed conv kernel, torch's default BN
eps, symmetric padding on a stride-2 'same' conv) must be caught at the right layer with the
cause named.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
pytest.importorskip("h5py", reason="reading weights needs h5py (the porting extra)")
keras = pytest.importorskip("keras")

from kerasinit.porting import (  # noqa: E402
    ModelFileError,
    PlanMismatchError,
    WeightsMismatchError,
    read,
    verify,
)
from tests.porting import weights_twins as tw  # noqa: E402

pytestmark = [pytest.mark.tf,
              pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5")]

RNG = np.random.default_rng(7)
INPUTS = {
    "image": RNG.standard_normal((2, 8, 8, 4)).astype("float32"),
    "conv13": RNG.standard_normal((2, 4, 4, 4, 2)).astype("float32"),
    "seq": RNG.integers(0, 20, (2, 6)).astype("int32"),
    "attn": RNG.standard_normal((2, 5, 8)).astype("float32"),
    "stem": RNG.standard_normal((2, 8, 8, 3)).astype("float32"),
}
BUILD = {"image": (tw.image_keras, tw.ImageTwin, tw.expected_image),
         "conv13": (tw.conv13_keras, tw.Conv13Twin, tw.expected_conv13),
         "seq": (tw.seq_keras, tw.SeqTwin, tw.expected_seq),
         "attn": (tw.attn_keras, tw.AttnTwin, tw.expected_attn)}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, dict[str, Path]]]:
    root = tmp_path_factory.mktemp("weights")
    out = {}
    for name in (*BUILD, "stem"):
        build = tw.stem_keras if name == "stem" else BUILD[name][0]
        model = build(keras)
        tw.randomize(keras, model, INPUTS[name], seed=len(name))
        paths = {"keras": root / f"{name}.keras", "h5": root / f"{name}.h5",
                 "weights": root / f"{name}.weights.h5"}
        model.save(paths["keras"])
        model.save(paths["h5"])
        model.save_weights(paths["weights"])
        out[name] = (model, paths)
    return out


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("fmt", ["keras", "h5", "weights", "live"])
@pytest.mark.parametrize("name", list(BUILD))
def test_every_tensor_bit_identical_and_verify_agrees(saved: Any, name: str, fmt: str) -> None:
    model, paths = saved[name]
    twin = BUILD[name][1]()
    plan = read(paths["keras"] if fmt != "h5" else paths["h5"])
    report = plan.load_weights(twin, model if fmt == "live" else paths[fmt])
    expected = BUILD[name][2](model)
    state = twin.state_dict()
    assert {e.torch_name for e in report.loaded} == set(expected)
    for key, value in expected.items():
        assert state[key].dtype == torch.float32
        assert torch.equal(state[key], torch.from_numpy(np.ascontiguousarray(value))), key
    assert all(e.status == "used" for e in report.keras)
    check = verify(model, twin, INPUTS[name])
    assert check.ok, str(check)
    assert all(c.ok is not None for c in check.layers), str(check)  # every pair compared
    assert len(check.layers) == len(report.pairs) + 1
    assert max(c.rel for c in check.layers) <= 1e-5, str(check)


def test_report_lists_every_torch_tensor_and_batch_counter_untouched(saved: Any) -> None:
    _model, paths = saved["image"]
    twin = tw.ImageTwin()
    report = read(paths["keras"]).load_weights(twin, paths["keras"])
    names = [e.torch_name for e in report.torch]
    assert names == [*dict(twin.named_parameters()), *dict(twin.named_buffers())]
    assert report["bn.num_batches_tracked"].status == "untouched"
    assert "step counter" in report["bn.num_batches_tracked"].note
    assert report["dw.weight"].keras == ("dw/kernel",)
    assert "loaded" in str(report) and report.ok


def test_float64_twin_is_converted_and_reported(saved: Any) -> None:
    model, paths = saved["conv13"]
    twin = tw.Conv13Twin().double()
    report = read(paths["keras"]).load_weights(twin, paths["keras"])
    assert "float32 -> float64" in report["c3.weight"].note
    want = torch.from_numpy(tw.conv_t(model.get_layer("c3").get_weights()[0])).double()
    assert torch.equal(twin.c3.weight.detach(), want)


def test_conv_bias_is_folded_into_the_next_batchnorm(saved: Any) -> None:
    model, paths = saved["stem"]
    twin = tw.StemTwin()
    report = read(paths["keras"]).load_weights(twin, paths["keras"])
    bias = model.get_layer("stem").get_weights()[1]
    mean = model.get_layer("stem_bn").get_weights()[2]
    assert np.any(bias != 0)
    folded = [e for e in report.keras if e.status == "folded"]
    assert [(e.keras_name, e.torch_name) for e in folded] == [("stem/bias", "stem_bn.running_mean")]
    assert torch.equal(twin.stem_bn.running_mean, torch.from_numpy(mean) - torch.from_numpy(bias))
    check = verify(model, twin, INPUTS["stem"])
    assert check.ok and max(c.rel for c in check.layers if c.ok is not None) <= 1e-5, str(check)


def test_non_zero_weight_without_a_torch_tensor_is_an_error_unless_allowed(saved: Any) -> None:
    _model, paths = saved["image"]
    twin = tw.ImageTwin()
    twin.head = torch.nn.Linear(4, 3, bias=False)
    before = _state(twin)
    with pytest.raises(WeightsMismatchError, match="head/bias"):
        read(paths["keras"]).load_weights(twin, paths["keras"])
    assert all(torch.equal(before[k], v) for k, v in twin.state_dict().items())
    report = read(paths["keras"]).load_weights(twin, paths["keras"], allow_dropped=True)
    dropped = [e.keras_name for e in report.keras if e.status == "dropped"]
    assert dropped == ["head/bias"]


# --- negative controls: verify names the first divergent layer and the cause


def _loaded(saved: Any, name: str, twin: torch.nn.Module) -> tuple[Any, torch.nn.Module]:
    model, paths = saved[name]
    read(paths["keras"]).load_weights(twin, paths["keras"])
    return model, twin


def test_gru_gates_left_in_keras_order_are_named(saved: Any) -> None:
    model, twin = _loaded(saved, "seq", tw.SeqTwin())
    with torch.no_grad():
        for p in twin.bigru.parameters():
            r, z, n = p.chunk(3)
            p.copy_(torch.cat([z, r, n]))  # what a converter without the reorder writes
    check = verify(model, twin, INPUTS["seq"])
    assert not check.ok
    assert check.first_divergent is not None and check.first_divergent.startswith("bigru")
    assert "gate order" in check.cause
    assert check["emb"].ok


@pytest.mark.parametrize(("change", "words"), [
    (lambda w: w.flip((2, 3)), "flipped"),
    (lambda w: w.transpose(2, 3), "transposed"),
])
def test_wrong_conv_kernel_permutation_is_named(saved: Any, change: Any, words: str) -> None:
    model, twin = _loaded(saved, "image", tw.ImageTwin())
    with torch.no_grad():
        twin.conv.weight.copy_(change(twin.conv.weight.clone()))
    check = verify(model, twin, INPUTS["image"])
    assert check.first_divergent is not None and check.first_divergent.startswith("conv ")
    assert words in check.cause, check.cause


def test_batchnorm_with_torch_default_eps_is_named(saved: Any) -> None:
    model, twin = _loaded(saved, "image", tw.ImageTwin(bn_eps=1e-5))
    check = verify(model, twin, INPUTS["image"])
    assert check["conv"].ok
    assert check.first_divergent is not None and check.first_divergent.startswith("bn ")
    assert "eps" in check.cause and "0.001" in check.cause and "1e-05" in check.cause


def test_stride_two_same_conv_with_symmetric_padding_is_named(saved: Any) -> None:
    model, twin = _loaded(saved, "stem", tw.StemTwin(pad_end=False))
    check = verify(model, twin, INPUTS["stem"])
    assert check.first_divergent is not None and check.first_divergent.startswith("stem ")
    assert "padding" in check.cause and "(0, 1)" in check.cause, check.cause
    assert check["stem"].rel > 0.1


# --- bad files: clear errors, nothing written


def test_missing_weights_member(saved: Any, tmp_path: Path) -> None:
    _, paths = saved["image"]
    bare = tmp_path / "bare.keras"
    with zipfile.ZipFile(paths["keras"]) as src, zipfile.ZipFile(bare, "w") as dst:
        for item in src.infolist():
            if item.filename != "model.weights.h5":
                dst.writestr(item, src.read(item.filename))
    twin = tw.ImageTwin()
    before = _state(twin)
    with pytest.raises(ModelFileError, match=r"model\.weights\.h5"):
        read(paths["keras"]).load_weights(twin, bare)
    assert all(torch.equal(before[k], v) for k, v in twin.state_dict().items())


def test_truncated_hdf5(saved: Any, tmp_path: Path) -> None:
    _, paths = saved["image"]
    cut = tmp_path / "cut.weights.h5"
    data = paths["weights"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    twin = tw.ImageTwin()
    before = _state(twin)
    with pytest.raises(ModelFileError, match="truncated"):
        read(paths["keras"]).load_weights(twin, cut)
    assert all(torch.equal(before[k], v) for k, v in twin.state_dict().items())


def test_weights_of_another_model_and_wrong_shapes(saved: Any, tmp_path: Path) -> None:
    _, image_paths = saved["image"]
    _, seq_paths = saved["seq"]
    twin = tw.ImageTwin()
    before = _state(twin)
    with pytest.raises(PlanMismatchError, match="another model"):
        read(image_paths["keras"]).load_weights(twin, seq_paths["weights"])
    # same layer names, other sizes: the stored shapes do not match the plan
    L = keras.layers
    inp = keras.Input((8, 8, 4))
    x = L.Conv2D(6, 3, padding="same", name="conv")(inp)
    x = L.BatchNormalization(name="bn")(x)
    x = L.PReLU(shared_axes=[1, 2], name="prelu")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(x)
    x = L.SeparableConv2D(8, 3, padding="same", name="sep")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, name="up")(x)
    x = L.Dense(3, name="head")(L.GlobalAveragePooling2D()(x))
    other = tmp_path / "other.weights.h5"
    keras.Model(inp, x).save_weights(other)
    with pytest.raises(WeightsMismatchError, match=r"conv/kernel.*\(3, 3, 2, 8\).*\(3, 3, 4, 6\)"):
        read(image_paths["keras"]).load_weights(twin, other)
    assert all(torch.equal(before[k], v) for k, v in twin.state_dict().items())


# --- the CLI


def test_port_cli_exit_codes(saved: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from kerasinit.cli import main

    image = str(saved["image"][1]["keras"])
    stem = str(saved["stem"][1]["keras"])
    twins = "tests.porting.weights_twins"
    assert main(["port", image, "--torch", f"{twins}:ImageTwin", "--check"]) == 0
    out = capsys.readouterr().out
    assert "16 of 17 torch tensors loaded" in out and "Every compared output agrees" in out
    assert main(["port", stem, "--torch", f"{twins}:symmetric_stem", "--check", "--json"]) == 5
    payload = json.loads(capsys.readouterr().out)
    assert payload["exit_code"] == 5 and payload["check"]["first_divergent"].startswith("stem ")
    assert main(["port", image, "--torch", f"{twins}:SeqTwin"]) == 4
    assert "nothing written" in capsys.readouterr().out
    assert main(["port", image, "--torch", f"{twins}:NoSuchFactory"]) == 3
    assert main(["port", image + ".missing", "--torch", f"{twins}:ImageTwin"]) == 1
    capsys.readouterr()


def test_tf_keras_h5_depthwise_kernel_name(tmp_path: Path) -> None:
    tfk = pytest.importorskip("tf_keras", reason="tf_keras (Keras 2) not installed")
    L = tfk.layers
    model = tfk.Sequential([L.InputLayer((6, 6, 4)), L.DepthwiseConv2D(3, depth_multiplier=2,
                                                                       name="dw"),
                            L.BatchNormalization(name="bn"), L.GlobalAveragePooling2D(),
                            L.Dense(3, name="fc")])
    rng = np.random.default_rng(5)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()])
    model.layers[1].set_weights([*model.layers[1].get_weights()[:3],
                                 rng.uniform(0.5, 1.5, 8).astype("float32")])
    path = tmp_path / "tfk.h5"
    model.save(path)
    assert read(path).rows[0].weight == "depthwise_kernel"

    class Twin(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = torch.nn.Conv2d(4, 8, 3, groups=4)
            self.bn = torch.nn.BatchNorm2d(8, eps=1e-3)
            self.fc = torch.nn.Linear(8, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.bn(self.dw(x)).mean(dim=(2, 3)))

    twin = Twin()
    report = read(path).load_weights(twin, path)
    assert report["dw.weight"].keras == ("dw/depthwise_kernel",)
    assert torch.equal(twin.dw.weight, torch.from_numpy(tw.depthwise_t(
        model.get_layer("dw").get_weights()[0])))
    x = rng.standard_normal((2, 6, 6, 4)).astype("float32")
    with torch.no_grad():
        got = twin.eval()(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    want = model(x, training=False).numpy()
    assert np.max(np.abs(got - want)) <= 1e-5 * np.max(np.abs(want))


def test_preprocessing_layers_feed_the_torch_model(tmp_path: Path) -> None:
    L = keras.layers
    inp = keras.Input((6, 6, 3))
    x = L.Rescaling(1 / 255, name="scale")(inp)
    x = L.Normalization(mean=[0.4, 0.5, 0.6], variance=[0.04, 0.05, 0.06], name="norm")(x)
    x = L.Conv2D(4, 3, name="conv")(x)
    model = keras.Model(inp, x)
    twin = torch.nn.Sequential()
    twin.conv = torch.nn.Conv2d(3, 4, 3)
    read(model.to_json()).load_weights(twin, model)
    check = verify(model, twin, RNG.uniform(0, 255, (2, 6, 6, 3)).astype("float32"))
    assert check.ok, str(check)
    assert any("scale (Rescaling), norm (Normalization)" in line
               for line in check.compared)


def test_a_huge_stored_weight_of_the_wrong_shape_is_never_read(saved: Any,
                                                                tmp_path: Path) -> None:
    import h5py

    _, paths = saved["image"]
    forged = tmp_path / "huge.weights.h5"
    forged.write_bytes(paths["weights"].read_bytes())
    with h5py.File(forged, "r+") as f:  # 4e10 float32 values declared, none stored
        group = f["layers/conv2d/vars"]
        del group["0"]
        group.create_dataset("0", shape=(200_000, 200_000), dtype="float32", chunks=(64, 64))
    twin = tw.ImageTwin()
    before = _state(twin)
    with pytest.raises(WeightsMismatchError, match=r"conv/kernel.*200000"):
        read(paths["keras"]).load_weights(twin, forged)
    assert all(torch.equal(before[k], v) for k, v in twin.state_dict().items())


def test_corrupted_archive_member_and_a_directory_are_refused(saved: Any, tmp_path: Path) -> None:
    _, paths = saved["image"]
    data = bytearray(paths["keras"].read_bytes())
    with zipfile.ZipFile(paths["keras"]) as archive:
        info = archive.getinfo("model.weights.h5")
    assert info.compress_type == zipfile.ZIP_STORED  # what Keras writes
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    with zipfile.ZipFile(paths["keras"]) as archive, archive.open(info) as member:
        import h5py

        with h5py.File(member, "r") as f:  # where the head's kernel values lie in the member
            offset = f["layers/dense/vars/0"].id.get_offset()
    data[start + offset + 5] ^= 0x40  # flip one bit of one stored weight: only the CRC shows it
    bad = tmp_path / "flipped.keras"
    bad.write_bytes(bytes(data))
    twin = tw.ImageTwin()
    before = _state(twin)
    with pytest.raises(ModelFileError, match="CRC"):
        read(paths["keras"]).load_weights(twin, bad)
    with pytest.raises(ModelFileError, match="directory"):
        read(paths["keras"]).load_weights(twin, tmp_path)
    assert all(torch.equal(before[k], v) for k, v in twin.state_dict().items())


@pytest.mark.parametrize("style", ["siblings", "knn"])
def test_separable_conv_onto_two_sibling_modules_or_one_layer(saved: Any, style: str) -> None:
    model, paths = saved["image"]
    twin = tw.ImageTwin(sep=style)
    report = read(paths["keras"]).load_weights(twin, paths["keras"])
    expected = tw.expected_image(model)
    if style == "siblings":
        expected = {k.replace("sep.depthwise", "sep_dw").replace("sep.pointwise", "sep_pw"): v
                    for k, v in expected.items()}
    state = twin.state_dict()
    assert {e.torch_name for e in report.loaded} == set(expected)
    for key, value in expected.items():
        assert torch.equal(state[key], torch.from_numpy(np.ascontiguousarray(value))), key
    check = verify(model, twin, INPUTS["image"])
    assert check.ok and check["sep"].ok and check["sep"].rel <= 1e-5, str(check)
