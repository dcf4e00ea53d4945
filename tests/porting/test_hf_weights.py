"""Trained keras_hub BERT / GPT-2 backbone weights into transformers BertModel / GPT2Model.

Both sides are built from small configs (no downloads): D = 64, 4 heads, 2 blocks, F = 128.
Every Keras variable is set to random values (LayerNorm gammas near 1), then
``plan.load_weights(hf_model, backbone)`` goes through the twin name table of
``kerasinit.porting.hf``. Checks: every twin parameter equals the Keras array moved by hand
(written out independently in test_hf_twins.py) bit for bit; the forward passes agree block by
block. Compared, in eval mode on 2 x 16 random token ids with a full padding mask: the
embedding LayerNorm output and each transformer block's output (Keras sub-model outputs against
transformers' ``hidden_states``), the final sequence output, and BERT's pooled output --
max|Δ| / max|Keras| <= 1e-5 each. transformers' BERT needs ``hidden_act="gelu_new"`` (keras_hub
uses the tanh approximation; its default erf ``gelu`` differs by ~1e-4, checked here too).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras_hub = pytest.importorskip("keras_hub", reason="needs keras-hub (the test extra)")
transformers = pytest.importorskip("transformers", reason="needs transformers (the test extra)")
keras = pytest.importorskip("keras")

from kerasinit.porting import WeightsMismatchError, read  # noqa: E402
from tests.porting.test_hf_twins import (  # noqa: E402
    LAYERS,
    D,
    F,
    H,
    L,
    V,
    _bert_expected,
    _gpt2_expected,
)

pytestmark = [pytest.mark.tf]
TOKENS = np.random.default_rng(1).integers(0, V, (2, 16)).astype("int32")
SEGMENTS = (np.arange(16)[None, :] >= 8).astype("int32").repeat(2, 0)
MASK = np.ones((2, 16), dtype=bool)


def _randomize(backbone: Any, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {}
    for v in backbone.weights:
        shape = tuple(v.shape)
        value = rng.standard_normal(shape) * 0.05
        if v.path.endswith("gamma"):
            value += 1.0
        v.assign(value.astype("float32"))
        values[v.path] = np.asarray(v.numpy())
    return values


def _rel(torch_value: torch.Tensor, keras_value: Any) -> float:
    ref = np.asarray(keras_value, dtype=np.float64)
    diff = np.abs(torch_value.detach().numpy().astype(np.float64) - ref)
    return float(diff.max() / np.abs(ref).max())


def _outputs(backbone: Any, names: list[str], inputs: dict[str, np.ndarray]) -> list[Any]:
    sub = keras.Model(backbone.inputs, [backbone.get_layer(n).output for n in names])
    return [keras.ops.convert_to_numpy(o) for o in sub(inputs, training=False)]


def _bert_model(act: str) -> Any:
    config = transformers.BertConfig(vocab_size=V, hidden_size=D, num_hidden_layers=LAYERS,
                                     num_attention_heads=H, intermediate_size=F,
                                     max_position_embeddings=L, type_vocab_size=2,
                                     hidden_act=act, layer_norm_eps=1e-12)
    return transformers.BertModel(config).eval()


@pytest.fixture(scope="module")
def bert() -> tuple[Any, dict[str, np.ndarray]]:
    backbone = keras_hub.models.BertBackbone(vocabulary_size=V, num_layers=LAYERS, num_heads=H,
                                             hidden_dim=D, intermediate_dim=F,
                                             max_sequence_length=L)
    return backbone, _randomize(backbone, 5)


@pytest.fixture(scope="module")
def gpt2() -> tuple[Any, dict[str, np.ndarray]]:
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=V, num_layers=LAYERS, num_heads=H,
                                             hidden_dim=D, intermediate_dim=F,
                                             max_sequence_length=L)
    return backbone, _randomize(backbone, 6)


def test_bert_weights_bit_exact_and_every_block_agrees(bert: Any) -> None:
    backbone, values = bert
    model = _bert_model("gelu_new")
    report = read(backbone).load_weights(model, backbone)
    state = model.state_dict()
    expected = _bert_expected(values)
    assert {e.torch_name for e in report.loaded} == set(expected) == set(
        dict(model.named_parameters()))
    for name, value in expected.items():
        assert torch.equal(state[name], torch.from_numpy(np.ascontiguousarray(value))), name
    assert all(e.status == "used" for e in report.keras) and len(report.keras) == len(values)
    inputs = {"token_ids": TOKENS, "segment_ids": SEGMENTS, "padding_mask": MASK}
    names = ["embeddings_layer_norm", *(f"transformer_layer_{i}" for i in range(LAYERS))]
    keras_out = _outputs(backbone, names, inputs)
    pooled = keras.ops.convert_to_numpy(backbone(inputs, training=False)["pooled_output"])
    with torch.no_grad():
        out = model(torch.from_numpy(TOKENS).long(), attention_mask=torch.from_numpy(MASK).long(),
                    token_type_ids=torch.from_numpy(SEGMENTS).long(), output_hidden_states=True)
    rels = [_rel(h, k) for h, k in zip(out.hidden_states, keras_out, strict=True)]
    rels.append(_rel(out.pooler_output, pooled))
    assert max(rels) <= 1e-5, rels
    # transformers' default erf gelu is not keras_hub's tanh form: a difference the check sees
    erf = _bert_model("gelu")
    read(backbone).load_weights(erf, backbone)
    with torch.no_grad():
        last = erf(torch.from_numpy(TOKENS).long(), attention_mask=torch.from_numpy(MASK).long(),
                   token_type_ids=torch.from_numpy(SEGMENTS).long()).last_hidden_state
    assert _rel(last, keras_out[-1]) > 1e-5


def test_gpt2_weights_bit_exact_and_every_block_agrees(gpt2: Any) -> None:
    backbone, values = gpt2
    config = transformers.GPT2Config(vocab_size=V, n_positions=L, n_embd=D, n_layer=LAYERS,
                                     n_head=H, n_inner=F, bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2Model(config).eval()
    report = read(backbone).load_weights(model, backbone)
    state = model.state_dict()
    expected = _gpt2_expected(values)
    assert {e.torch_name for e in report.loaded} == set(expected)
    for name, value in expected.items():
        assert torch.equal(state[name], torch.from_numpy(np.ascontiguousarray(value))), name
    inputs = {"token_ids": TOKENS, "padding_mask": MASK}
    names = [f"transformer_layer_{i}" for i in range(LAYERS)] + ["layer_norm"]
    keras_out = _outputs(backbone, names, inputs)
    with torch.no_grad():
        out = model(torch.from_numpy(TOKENS).long(), attention_mask=torch.from_numpy(MASK).long(),
                    output_hidden_states=True)
    # hidden_states: the embeddings, then each block's output; the last one after ln_f
    rels = [_rel(out.hidden_states[i + 1], keras_out[i]) for i in range(LAYERS - 1)]
    rels.append(_rel(out.last_hidden_state, keras_out[-1]))
    assert max(rels) <= 1e-5, rels


def test_twin_of_another_depth_is_refused_and_nothing_written(bert: Any) -> None:
    backbone, _ = bert
    config = transformers.BertConfig(vocab_size=V, hidden_size=D, num_hidden_layers=1,
                                     num_attention_heads=H, intermediate_size=F,
                                     max_position_embeddings=L, type_vocab_size=2)
    model = transformers.BertModel(config)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(WeightsMismatchError, match="transformer_layer_1"):
        read(backbone).load_weights(model, backbone)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
