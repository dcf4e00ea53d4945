"""The Keras layer table (kerasinit/mappings/layers/table.py) is the one source of layer knowledge.

It is tied to: Keras's own defaults (live, when TensorFlow/Keras is installed), the torch side
(every ParamSpec's keyword is the table's), porting (every class has a weight builder, every
generic shape token is readable) and docs/layers.md (generated, not stale).
"""

from __future__ import annotations

import importlib.util
import pathlib

import pytest
import torch

import kerasinit
from kerasinit.mappings import layers as table
from kerasinit.mappings.versions import parse_version
from kerasinit.modules.params import KEYWORDS, keras_defaults, module_params
from kerasinit.porting.layerdefs import LayerCtx
from kerasinit.porting.layers import BUILDERS, FAMILIES, weights_of

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENTRIES = sorted({e.class_name: e for e in table.LAYERS.values()}.items())


def test_every_class_and_alias_has_a_builder() -> None:
    assert set(FAMILIES) == set(table.LAYERS)
    assert {e.builder for _, e in ENTRIES} <= set(BUILDERS)
    assert table.layer("CuDNNLSTM") is table.layer("LSTM")
    assert table.layer("NoSuchLayer") is None


def test_defaults_are_the_table_weights() -> None:
    assert keras_defaults("GRU") == {"kernel_initializer": "glorot_uniform",
                                     "recurrent_initializer": "orthogonal",
                                     "bias_initializer": "zeros"}
    assert keras_defaults("Embedding")["embeddings_initializer"] == table.UNIFORM_005
    for name, entry in ENTRIES:
        expected = {w.keyword: w.default for w in entry.weights if w.keyword}
        assert {k: v for k, v in table.defaults(name).items() if k in expected} == expected


@pytest.mark.parametrize("module", [
    torch.nn.Linear(3, 2), torch.nn.Conv2d(4, 8, 3, groups=4), torch.nn.ConvTranspose1d(2, 3, 3),
    torch.nn.Embedding(5, 2), torch.nn.LSTM(3, 4), torch.nn.GRUCell(3, 4),
    torch.nn.MultiheadAttention(8, 2), torch.nn.BatchNorm2d(3), torch.nn.GroupNorm(1, 4),
    torch.nn.PReLU(), kerasinit.nn.SeparableConv2d(4, 8, 3)], ids=lambda m: type(m).__name__)
def test_torch_side_keywords_come_from_the_table(module: torch.nn.Module) -> None:
    specs = module_params(module)
    assert specs
    for spec in specs:
        entry = table.layer(spec.keras_layer)
        assert entry is not None and spec.keyword in table.defaults(spec.keras_layer)
        assert spec.keyword in KEYWORDS


def test_generic_shape_tokens_are_readable() -> None:
    ctx = LayerCtx("X", {"units": 3, "output_dim": 5, "input_dim": 7, "axis": [1, 2]},
                   parse_version("3"), input_shape=(None, 4, 6, 2))
    for name, entry in ENTRIES:
        if entry.builder != "generic":
            continue
        for w in entry.weights:
            for token in w.shape:
                head = token.rpartition("*")[0]
                assert token in ("in", "axis") or head == "" or head.isdigit(), (name, token)
    dense = weights_of(LayerCtx("Dense", {"units": 3}, parse_version("3"), input_shape=(None, 4)))
    assert [(w.weight, w.shape, w.identifier) for w in dense or []] == [
        ("kernel", (4, 3), "glorot_uniform"), ("bias", (3,), "zeros")]
    assert ctx.dim(-1) == 2
    norm = weights_of(LayerCtx("LayerNormalization", {"axis": [1, 2], "center": False},
                               parse_version("3"), input_shape=(None, 4, 6, 2)))
    assert [(w.weight, w.shape) for w in norm or []] == [("gamma", (4, 6))]


def test_gate_blocks_and_reset_after() -> None:
    v1, v2, v3 = (parse_version(v) for v in ("1", "2.2.4-tf", "3"))
    assert [table.gate_blocks(c, v1) for c in ("LSTM", "GRU", "SimpleRNN", "Dense")] == [4, 3, 1, 1]
    assert table.gate_blocks("LSTM", v1, consume_less="gpu") == 1
    assert table.gate_blocks("LSTM", v3) == 1
    assert (table.gru_reset_after(v2), table.gru_reset_after(v3)) == (False, True)


def test_layers_doc_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    doc = (ROOT / "docs" / "layers.md").read_text(encoding="utf-8")
    assert doc == gen.layers_doc_with_table(doc), (
        "docs/layers.md layer table is stale: run `python scripts/gen_docs.py`")
    assert "| LSTM (CuDNNLSTM) | kernel |" in doc


#: Keras 3 layers built with their minimal arguments, to read Keras's own defaults.
_LIVE = {"Dense": (2,), "EinsumDense": ("ab,bc->ac", 2), "Conv2D": (2, 3),
         "Conv2DTranspose": (2, 3), "DepthwiseConv2D": (3,), "SeparableConv2D": (2, 3),
         "Embedding": (3, 2), "SimpleRNN": (2,), "LSTM": (2,), "GRU": (2,), "LSTMCell": (2,),
         "ConvLSTM2D": (2, 3), "BatchNormalization": (), "LayerNormalization": (),
         "GroupNormalization": (1,), "PReLU": (), "MultiHeadAttention": (2, 2)}


@pytest.mark.tf
def test_defaults_equal_live_keras_3() -> None:
    """Each table default is the initializer Keras 3 itself puts in the layer's config."""
    keras = pytest.importorskip("keras")
    for name, args in _LIVE.items():
        config = getattr(keras.layers, name)(*args).get_config()
        for keyword, default in table.defaults(name).items():
            if keyword == "unit_forget_bias":
                assert config[keyword] is default, name
                continue
            ours = kerasinit.get(default).spec
            theirs = kerasinit.get(config[keyword]).spec
            assert ours == theirs, (name, keyword, ours, theirs)


def test_draws_are_columns_of_the_one_table() -> None:
    """The Keras 3 seed draws live on the rows (no second table): the replay lookup is derived,
    every Keras 3 weight-bearing class has measured draws, and weightless rows are known to
    porting as weightless."""
    assert importlib.util.find_spec("kerasinit.mappings.draws") is None
    by_name = {e.class_name: e for e in table.ROWS}
    assert len(by_name) == len(table.ROWS)  # one row per class
    for name, draws in table.KERAS3_DRAWS.items():
        entry = table.LAYERS.get(name) or by_name[name]
        assert entry.draws is draws
    assert [s.key for s in table.KERAS3_DRAWS["Dropout"].init] == ["seed"]
    assert [s.prefix for s in table.KERAS3_DRAWS["MultiHeadAttention"].build][:2] == [
        "query/", "query/"]
    assert {"Dropout", "Flatten", "RandomCrop"} <= table.WEIGHTLESS
    assert not table.WEIGHTLESS & set(table.LAYERS)
    assert weights_of(LayerCtx("Dropout", {"rate": 0.5}, parse_version("3"))) == []
    assert weights_of(LayerCtx("NoSuchLayer", {}, parse_version("3"))) is None
