"""Replaying ``keras.utils.set_random_seed``: draw order, seeds, and Keras's own weights.

The live tests build small Keras models after ``set_random_seed(42)`` in a subprocess per
backend (Keras 3 on TensorFlow, tf_keras, Keras 3 on torch, Keras 3 on JAX), then check that
the replayed plan reproduces every random weight: bit for bit for the uniform, normal and
truncated-normal families, Orthogonal within 2e-6 relative (TF's float32 QR rounds differently).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit.bridge.initializer import RNGS, Initializer
from kerasinit.mappings.specs import OrthogonalSpec, VarianceScalingSpec
from kerasinit.porting.plan import Plan
from kerasinit.porting.replay import ReplayError
from tests.porting.replay_twins import TWINS

SEED = 42
_HERE = Path(__file__).parent


def _stream(n: int, seed: int = SEED) -> list[int]:
    import random

    r = random.Random(seed)
    return [r.randint(1, int(1e9)) for _ in range(n)]


def _seq(*layers: dict[str, Any], version: str = "3.15") -> Plan:
    return kerasinit.porting.read({"class_name": "Sequential", "config": {"layers": list(layers)}},
                                  keras_version=version)


def _layer(cls: str, name: str, **config: Any) -> dict[str, Any]:
    return {"class_name": cls, "config": {"name": name, **config}}


# -- draw order from configs (no Keras needed) ---------------------------------------------------

def test_invisible_draws_are_counted() -> None:
    plan = _seq(_layer("Dense", "d", units=2, batch_input_shape=[None, 3]),
                _layer("Dropout", "drop", rate=0.5), _layer("LSTM", "l", units=2),
                _layer("SimpleRNN", "r", units=2), _layer("Dense", "out", units=1))
    s = _stream(10)
    seeds = {(r.layer, r.weight): getattr(r.initializer, "seed", None) for r in plan.replay(SEED).rows}
    # d kernel; Dropout SeedGenerator; LSTM kernel, recurrent, SeedGenerator;
    # SimpleRNN SeedGenerator first, then kernel, recurrent; out kernel
    assert seeds[("d", "kernel")] == s[0]
    assert (seeds[("l", "kernel")], seeds[("l", "recurrent_kernel")]) == (s[2], s[3])
    assert (seeds[("r", "kernel")], seeds[("r", "recurrent_kernel")]) == (s[6], s[7])
    assert seeds[("out", "kernel")] == s[8]
    assert seeds[("d", "bias")] is None  # zeros never draw


def test_zero_rate_and_seeded_layers_do_not_draw() -> None:
    plan = _seq(_layer("Dense", "a", units=2, batch_input_shape=[None, 3]),
                _layer("Dropout", "z", rate=0.0), _layer("LSTM", "l", units=2, seed=5),
                _layer("Dense", "b", units=2, kernel_initializer={
                    "class_name": "HeNormal", "config": {"seed": 9}},
                    bias_initializer="random_normal", use_bias=False),
                _layer("Dense", "c", units=2))
    s = _stream(6)
    rows = {(r.layer, r.weight): r for r in plan.replay(SEED).rows}
    assert rows[("l", "kernel")].initializer.seed == s[1]  # type: ignore[attr-defined]
    assert rows[("b", "kernel")].initializer.seed == 9  # type: ignore[attr-defined]
    assert rows[("b", "kernel")].seed_source == ""
    # b's unused bias initializer still draws (s[3]); c gets s[4]
    assert rows[("c", "kernel")].initializer.seed == s[4]  # type: ignore[attr-defined]


def test_multi_head_attention_draws() -> None:
    mha = {"class_name": "MultiHeadAttention", "config": {
        "name": "mha", "num_heads": 2, "key_dim": 4, "dropout": 0.1,
        "bias_initializer": "random_uniform"},
        "build_config": {"shapes_dict": {"query_shape": [None, 5, 8], "value_shape": [None, 5, 8]}}}
    plan = _seq(mha)
    s = _stream(14)
    seeds = {r.weight: r.initializer.seed for r in plan.replay(SEED).rows}  # type: ignore[attr-defined]
    # __init__: kernel, bias (never used); build: q k/b, k k/b, v k/b, dropout, output k/b
    assert [seeds["query/kernel"], seeds["query/bias"], seeds["key/kernel"]] == s[2:5]
    assert [seeds["value/kernel"], seeds["value/bias"]] == s[6:8]
    assert [seeds["attention_output/kernel"], seeds["attention_output/bias"]] == s[9:11]


def test_bidirectional_draws_and_rebuilt_order() -> None:
    bi = {"class_name": "Bidirectional", "config": {
        "name": "bi", "layer": _layer("LSTM", "lstm", units=2),
        "backward_layer": _layer("LSTM", "backward_lstm", units=2, go_backwards=True)}}
    plan = _seq(bi)
    s = _stream(9)
    code = {r.layer: r.initializer.seed for r in plan.replay(SEED).rows  # type: ignore[attr-defined]
            if r.weight == "kernel"}
    assert code == {"bi/forward_lstm": s[3], "bi/backward_lstm": s[6]}  # wrapped 0-2 discarded
    rebuilt = {r.layer: r.initializer.seed for r in  # type: ignore[attr-defined]
               plan.replay(SEED, order="rebuilt").rows if r.weight == "kernel"}
    assert rebuilt == {"bi/forward_lstm": s[6], "bi/backward_lstm": s[3]}


def test_order_and_seeds_override() -> None:
    plan = _seq(_layer("Dense", "a", units=2, batch_input_shape=[None, 3]),
                _layer("Dense", "b", units=2))
    s = _stream(4)
    swapped = {r.layer: r.initializer.seed for r in  # type: ignore[attr-defined]
               plan.replay(SEED, order=["b", 1, "a"]).rows if r.weight == "kernel"}
    assert swapped == {"b": s[0], "a": s[2]}
    explicit = plan.replay(SEED, seeds={"b/kernel": 7})
    assert [r.initializer.seed for r in explicit.rows if r.weight == "kernel"] == [s[0], 7]  # type: ignore[attr-defined]
    with pytest.raises(ReplayError, match=r"missing: .b."):
        plan.replay(SEED, order=["a"])
    with pytest.raises(ReplayError, match="no random weight"):
        plan.replay(SEED, seeds={"nope": 1})
    with pytest.raises(ReplayError, match="keras_seed must be"):
        plan.replay("42")  # type: ignore[arg-type]


def test_print_shows_seeds_and_invisible_draws() -> None:
    plan = _seq(_layer("Dense", "a", units=2, batch_input_shape=[None, 3]),
                _layer("Dropout", "drop", rate=0.3))
    text = str(plan.replay(SEED))
    assert f"{_stream(1)[0]} (draw #0)" in text
    assert "#1 drop/seed_generator" in text
    assert "seed" not in str(plan).splitlines()[3]  # no seed column before the replay


def test_functional_branches_are_flagged() -> None:
    def dense(name: str, parent: str) -> dict[str, Any]:
        return {"class_name": "Dense", "name": name, "config": {"name": name, "units": 2},
                "inbound_nodes": [[[parent, 0, 0, {}]]]}
    cfg = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "InputLayer", "name": "x", "config": {
            "name": "x", "batch_input_shape": [None, 3]}, "inbound_nodes": []},
        dense("a", "x"), dense("b", "x"),
        {"class_name": "Add", "name": "add", "config": {"name": "add"},
         "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]]},
        dense("c", "add")], "input_layers": [["x", 0, 0]], "output_layers": [["c", 0, 0]]}}
    plan = kerasinit.porting.read(cfg, keras_version="3.15")
    s = _stream(3)
    replayed = plan.replay(SEED)
    notes = " ".join(replayed.notes)
    assert "1 drawing layer(s) certain" in notes and "2 uncertain" in notes
    assert "a: on a branch independent of b" in notes
    sources = {r.layer: r.seed_source for r in replayed.rows if r.weight == "kernel"}
    assert sources == {"a": "draw #0, uncertain", "b": "draw #1, uncertain", "c": "draw #2"}
    # Keras's automatic names are numbered at construction: dense_1 was made before dense_2
    renamed = json.loads(json.dumps(cfg).replace('"a"', '"dense_2"').replace('"b"', '"dense_1"'))
    replayed = kerasinit.porting.read(renamed, keras_version="3.15").replay(SEED)
    got = {r.layer: (r.initializer.seed, r.seed_source)  # type: ignore[attr-defined]
           for r in replayed.rows if r.weight == "kernel"}
    assert got == {"dense_1": (s[0], "draw #0, inferred"), "dense_2": (s[1], "draw #1, inferred"),
                   "c": (s[2], "draw #2")}
    assert "uncertain order" not in " ".join(replayed.notes)
    # order="config" keeps the listed order; the notes about inference are then not shown
    config = kerasinit.porting.read(renamed, keras_version="3.15").replay(SEED, order="config")
    assert {r.layer: r.initializer.seed for r in config.rows  # type: ignore[attr-defined]
            if r.weight == "kernel"} == {"dense_2": s[0], "dense_1": s[1], "c": s[2]}
    assert "inferred" not in " ".join(config.notes)


def test_draw_table_covers_the_layer_table() -> None:
    """Every Keras 3 class of the one layer table has draw sites for all its initializer
    keywords; the classes without any are Keras 1/2 names."""
    from kerasinit.mappings.layers import KERAS3_DRAWS, LAYERS

    missing = {n for n in LAYERS if n not in KERAS3_DRAWS}
    assert missing <= {"TimeDistributedDense", "Convolution1D", "AtrousConvolution1D",
                       "Convolution2D", "AtrousConvolution2D", "Convolution3D",
                       "Deconvolution2D", "SeparableConvolution2D", "CuDNNLSTM", "CuDNNGRU"}
    for name, table in KERAS3_DRAWS.items():
        if name in LAYERS:
            keywords = {w.keyword for w in LAYERS[name].weights if w.keyword}
            sites = {s.key for s in (*table.init, *table.build) if s.kind == "initializer"}
            assert keywords <= sites, name


def test_inspect_cli_shows_replayed_seeds(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from kerasinit.cli import main

    path = tmp_path / "m.json"
    path.write_text(json.dumps({"class_name": "Sequential", "keras_version": "3.15.1", "config": {
        "layers": [_layer("Dense", "d", units=2, batch_input_shape=[None, 3])]}}))
    assert main(["inspect", str(path), "--keras-seed", "42"]) == 0
    assert f"{_stream(1)[0]} (draw #0)" in capsys.readouterr().out
    assert main(["inspect", str(path), "--keras-seed", "42", "--keras-version", "1"]) == 1
    assert "stateful" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["1", "2.2.4", "2.4"])
def test_stateful_versions_are_refused(version: str) -> None:
    plan = _seq(_layer("Dense", "a", units=2, batch_input_shape=[None, 3]), version=version)
    with pytest.raises(ReplayError, match="stateful"):
        plan.replay(SEED)


def test_apply_needs_a_faithful_rng() -> None:
    plan = _seq(_layer("Dense", "a", units=2, batch_input_shape=[None, 3]))
    lin = torch.nn.Linear(3, 2)
    before = lin.weight.detach().clone()
    with pytest.raises(ReplayError, match="seed-faithful"):
        plan.apply(lin, keras_seed=SEED)
    assert torch.equal(lin.weight, before)
    plan.apply(lin, rng="tensorflow", keras_seed=SEED)
    want = torch.empty(2, 3)
    kerasinit.get("glorot_uniform", seed=_stream(1)[0], rng="tensorflow")(want)
    assert torch.equal(lin.weight.detach(), want)


def test_keras_torch_seeds_keras_refuses_are_refused_before_any_write() -> None:
    """Keras's torch backend raises for a SeedGenerator seed outside int32 and, before 3.14,
    for any int seed outside int32: the whole model is refused before its first write."""
    sg = {"class_name": "SeedGenerator", "config": {"seed": 2**31}}
    for version, second, match in (
            ("3.15", {"class_name": "RandomNormal", "config": {"seed": sg}}, "SeedGenerator"),
            ("3.13", {"class_name": "RandomNormal", "config": {"seed": 2**32 + 3}}, "int32")):
        plan = _seq(_layer("Dense", "a", units=4, batch_input_shape=[None, 3],
                           kernel_initializer={"class_name": "RandomNormal",
                                               "config": {"seed": 1}}),
                    _layer("Dense", "b", units=2, kernel_initializer=second), version=version)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
        before = [p.detach().clone() for p in model.parameters()]
        with pytest.raises(kerasinit.KerasInitError, match=match):
            plan.apply(model, rng="keras-torch")
        assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    # a replayed keras_seed gives seeds in [1, 1e9]: always inside int32
    plan = _seq(_layer("Dense", "a", units=2, batch_input_shape=[None, 3]))
    lin = torch.nn.Linear(3, 2)
    plan.apply(lin, rng="keras-torch", keras_seed=2**32 - 1)
    want = kerasinit.get("glorot_uniform", seed=_stream(1, 2**32 - 1)[0], rng="keras-torch")
    assert torch.equal(lin.weight.detach(), want(torch.empty(2, 3)))


# -- against Keras itself ------------------------------------------------------------------------

def _build(flavours: str, backend: str, out: Path, *extra: str,
           python: str = sys.executable) -> dict[str, np.ndarray]:
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([python, str(_HERE / "replay_models.py"), flavours, str(SEED),
                           str(out), *extra], env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or "built" not in proc.stdout:
        pytest.skip(f"Keras ({flavours} on {backend}) unavailable: {proc.stderr[-400:]}")
    return dict(np.load(out))


@pytest.fixture(scope="module")
def tf_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf_keras")
    return _build("keras,tf_keras", "tensorflow", tmp_path_factory.mktemp("rp") / "tf.npz")


@pytest.fixture(scope="module")
def torch_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    pytest.importorskip("keras")
    return _build("keras", "torch", tmp_path_factory.mktemp("rp") / "torch.npz", "weights")


@pytest.fixture(scope="module")
def jax_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    pytest.importorskip("jax")
    pytest.importorskip("keras")
    return _build("keras", "jax", tmp_path_factory.mktemp("rp") / "jax.npz", "weights")


MODELS = ("conv", "seq", "attn", "mha")


def _plan(saved: dict[str, np.ndarray], name: str) -> Plan:
    return kerasinit.porting.read(str(saved[f"{name}:config"])).replay(SEED)


def _keras_weight(saved: dict[str, np.ndarray], name: str, layer: str, weight: str) -> np.ndarray:
    prefix = f"{name}:w:"
    last = layer.rsplit("/", 1)[-1]  # a rebuilt model's variable paths drop the wrapper
    hits = [k for k in saved if k.startswith(prefix) and k.endswith("/" + weight)
            and f"/{last}/" in "/" + k[len(prefix):]]
    assert len(hits) == 1, (layer, weight, hits)
    return saved[hits[0]]


def _check_values(saved: dict[str, np.ndarray], flavour: str, rng: Any,
                  models: tuple[str, ...] = MODELS, order: Any = None) -> int:
    checked = 0
    for model in models:
        name = f"{flavour}/{model}"
        plan = kerasinit.porting.read(str(saved[f"{name}:config"])).replay(SEED, order=order)
        for row in plan.rows:
            if not row.initializer.is_random:
                continue
            want = _keras_weight(saved, name, row.layer, row.weight)
            got = torch.empty(want.shape)
            fans = None
            if isinstance(row.initializer, VarianceScalingSpec) and row.resolved is not None:
                fans = (row.resolved.fan_in, row.resolved.fan_out)
            Initializer(row.initializer, row.keras_version, rng=rng)(got, layout="keras",
                                                                     fans=fans)
            where = f"{name} {row.layer}/{row.weight} {row.initializer_text}"
            if isinstance(row.initializer, OrthogonalSpec) and rng != "keras-torch":
                rel = np.abs(got.numpy() - want).max() / np.abs(want).max()
                assert rel < 2e-6, where
            else:
                np.testing.assert_array_equal(got.numpy(), want, err_msg=where)
            checked += 1
    return checked


@pytest.mark.parametrize("flavour", ["keras", "tf_keras"])
@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("model", sorted(TWINS))
def test_forward_equality(tf_models: dict[str, np.ndarray], flavour: str, model: str) -> None:
    """The recipe for verifying a port: build the Keras model after set_random_seed(s), apply
    the plan with keras_seed=s to the torch twin, run both on the same input."""
    name = f"{flavour}/{model}"
    plan = kerasinit.porting.read(str(tf_models[f"{name}:config"]))
    twin = TWINS[model]().eval()
    report = plan.apply(twin, rng="tensorflow", keras_seed=SEED)
    assert report.applied
    with torch.no_grad():
        got = twin(torch.from_numpy(tf_models[f"{name}:x"])).numpy()
    want = tf_models[f"{name}:y"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))
    # and it is the seed that makes them agree: another seed gives another model
    plan.apply(twin, rng="tensorflow", keras_seed=SEED + 1)
    with torch.no_grad():
        other = twin(torch.from_numpy(tf_models[f"{name}:x"])).numpy()
    assert np.abs(other - want).max() > 1e-3


def test_live_seeds_agree_with_the_replay() -> None:
    """A live Keras 3 model keeps the seeds its initializers drew (MultiHeadAttention's
    sublayers included): they are the replayed ones, and apply uses them without keras_seed.
    ``Dropout()(LSTM()(x))`` constructs the Dropout first (Python evaluates the callee before
    its argument): the config order is off by one draw there, and order= repairs it."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("needs Keras on the TensorFlow backend in this process")
    L = keras.layers
    keras.utils.set_random_seed(SEED)
    inp = keras.Input((5, 8))
    x = L.MultiHeadAttention(2, 4, dropout=0.1, name="mha")(inp, inp)
    x = L.Dropout(0.2, name="drop")(L.LSTM(3, name="lstm")(x))
    model = keras.Model(inp, L.Dense(2, name="dense")(x))
    live = kerasinit.porting.read(model).replay(None)
    plan = kerasinit.porting.read(model.to_json())
    config_order = [r.initializer.seed for r in plan.replay(SEED).rows  # type: ignore[attr-defined]
                    if r.initializer.is_random]
    replayed = plan.replay(SEED, order=["mha", "drop", "lstm", "dense"])
    seeds = [(r.weight, r.initializer.seed, r.seed_source) for r in live.rows  # type: ignore[attr-defined]
             if r.initializer.is_random]
    assert len(seeds) == 7 and all(source == "live" for *_, source in seeds)
    assert [s for _, s, _ in seeds] == [r.initializer.seed for r in replayed.rows  # type: ignore[attr-defined]
                                        if r.initializer.is_random]
    live_seeds = [s for _, s, _ in seeds]
    assert config_order[:4] == live_seeds[:4] and config_order[4:] != live_seeds[4:]
    lin = torch.nn.Linear(3, 2)
    kerasinit.porting.read(model).apply(lin, rng="tensorflow", mapping={"dense": ""},
                                        strict=False)
    want = keras.ops.convert_to_numpy(model.get_layer("dense").kernel).T
    np.testing.assert_array_equal(lin.weight.detach().numpy(), want)


@pytest.mark.parametrize("flavour", ["keras", "tf_keras"])
def test_branch_order_and_rebuilt_models(tf_models: dict[str, np.ndarray], flavour: str) -> None:
    """A shortcut constructed first but called last: the plan flags the branch as uncertain;
    the inferred order (shorter branch first) is Keras 3's construction order, and order=
    (construction order for Keras 3, first-call order for tf_keras) reproduces every tensor;
    a model rebuilt from its config replays with order='rebuilt'."""
    name = f"{flavour}/branch"
    plan = kerasinit.porting.read(str(tf_models[f"{name}:config"]))
    assert any("uncertain order (3)" in n for n in plan.replay(SEED).notes)
    order = ["shortcut", "a", "b", "out"] if flavour == "keras" else ["a", "b", "shortcut", "out"]
    assert _check_values(tf_models, flavour, "tensorflow", ("branch",), order) == 4
    if flavour == "keras":  # the inferred order (shorter branch first) is the construction order
        assert _check_values(tf_models, flavour, "tensorflow", ("branch",)) == 4
    assert _check_values(tf_models, flavour, "tensorflow", ("rebuilt",), "rebuilt") == 12


@pytest.mark.parametrize("flavour", ["keras", "tf_keras"])
def test_replay_matches_keras_on_tensorflow(tf_models: dict[str, np.ndarray],
                                            flavour: str) -> None:
    assert _check_values(tf_models, flavour, "tensorflow") >= 30


def test_replay_matches_keras_on_torch_backend(torch_models: dict[str, np.ndarray]) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # Orthogonal's float32 QR, as Keras ran it
    try:
        assert _check_values(torch_models, "keras", "keras-torch") >= 30
    finally:
        torch.set_num_threads(threads)


def test_replay_matches_keras_on_jax(jax_models: dict[str, np.ndarray]) -> None:
    """The draw order is backend-independent: the replayed seeds are the seeds the live
    initializer objects hold on JAX, and rng='jax' gives the values (Orthogonal included,
    within 2e-6; bit-exact with this SciPy build)."""
    for model in MODELS:
        name = f"keras/{model}"
        live = set(json.loads(str(jax_models[f"{name}:seeds"])))
        replayed = {r.initializer.seed for r in _plan(jax_models, name).rows  # type: ignore[attr-defined]
                    if r.seed_source.startswith("draw")}
        assert replayed and replayed <= live, name
    if "jax" in RNGS:
        assert _check_values(jax_models, "keras", "jax") >= 30


#: other Keras installations to check live, as ``python[:flavour[:backend]]`` entries separated
#: by spaces (e.g. a venv with keras==3.14.* next to TensorFlow, or tensorflow-cpu==2.15.*).
_OTHER = os.environ.get("KERASINIT_REPLAY_PYTHONS", "").split()
_RNG_OF = {"tensorflow": "tensorflow", "torch": "keras-torch", "jax": "jax"}


@pytest.mark.skipif(not _OTHER, reason="set KERASINIT_REPLAY_PYTHONS to check other Keras "
                                       "installations (python[:flavour[:backend]] ...)")
@pytest.mark.parametrize("entry", _OTHER or ["-"])
def test_replay_other_keras_versions(entry: str, tmp_path: Path) -> None:
    """The same models built by another Keras version (its own interpreter): every random
    tensor replayed (Keras 3: construction order; tf.keras: first-call order)."""
    parts = entry.split(":")
    python = parts[0]
    flavour = parts[1] if len(parts) > 1 else "keras"
    backend = parts[2] if len(parts) > 2 else "tensorflow"
    extra = () if flavour == "tf_keras" or backend == "tensorflow" else ("weights",)
    saved = _build(flavour, backend, tmp_path / "other.npz", *extra, python=python)
    models = MODELS if extra else (*MODELS, "branch", "rebuilt")
    if backend == "jax" and "jax" not in RNGS:
        pytest.skip("rng='jax' unavailable")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        checked = sum(_check_values(saved, flavour, _RNG_OF[backend], (m,), _order_for(m, flavour))
                      for m in models)
    finally:
        torch.set_num_threads(threads)
    assert checked >= 40


def _order_for(model: str, flavour: str) -> Any:
    if model == "rebuilt":
        return "rebuilt"
    if model == "branch" and flavour == "tf_keras":
        return ["a", "b", "shortcut", "out"]
    return None


def test_keras_torch_seed_range_per_version() -> None:
    """Keras < 3.14 on torch raised for int seeds outside int32 (checked live on 3.13.2);
    3.14 bit-casts them (checked live on 3.14.1 and 3.15.1: bit-exact)."""
    from kerasinit.mappings.errors import InitializerArgumentError

    big = 2**31 + 5
    w = torch.zeros(3, 4)
    with pytest.raises(InitializerArgumentError, match=r"outside int32.*3\.14"):
        kerasinit.get("random_normal", seed=big, rng="keras-torch", keras_version="3.13")(w)
    assert torch.equal(w, torch.zeros(3, 4))
    new, old = torch.empty(3, 4), torch.empty(3, 4)
    kerasinit.get("random_normal", seed=big, rng="keras-torch", keras_version="3.14")(new)
    kerasinit.get("random_normal", seed=big - 2**32, rng="keras-torch", keras_version="3.13")(old)
    assert torch.equal(new, old)  # the bit-cast: 2**31 + 5 is int32 -(2**31 - 5)
