"""keras_hub BERT / GPT-2 backbones onto their ``transformers`` twins, built from configs.

Both sides are built once per module from small configs (no downloads): D = 64, 4 heads,
2 blocks, F = 128, vocabulary 512, 64 positions.

Checks:

* every twin parameter is initialized from a Keras weight (the report lists all of them as
  applied, no problems), and the values equal the Keras model's own initial weights bit for bit
  with ``rng="tensorflow"`` (the live seeds), after the layout moves written out independently
  here (Linear: kernel.reshape(D, -1).T; Conv1D: as is; c_attn: q, k, v side by side);
* with ``rng="torch"`` each random parameter has Keras's distribution: sample std within 6 % of
  the expected (realised) std (n >= 4,096 elements per tensor: the standard error of a sample
  std is <= 1.1 %, so 6 % is z >= 5.4, two-sided alpha < 1e-7 per tensor, ~3e-6 over the ~40
  tensors; the smallest detectable error at power 0.999 is ~10 %, and the errors this guards
  against are larger: transformers' own N(0, 0.02) for BERT's TruncatedNormal(0.02), realised
  std 0.0176, is 13.7 % off, its GPT-2 c_proj std 0.01 is 50 % off); truncated normals stay
  inside [-0.04, 0.04] exactly; biases, LayerNorms are exactly 0 / 1;
* a twin with another depth is refused before anything is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras_hub = pytest.importorskip("keras_hub", reason="needs keras-hub (the test extra)")
transformers = pytest.importorskip("transformers", reason="needs transformers (the test extra)")

from kerasinit.porting import PlanMismatchError, read  # noqa: E402

pytestmark = [pytest.mark.tf]

D, H, LAYERS, F, V, L = 64, 4, 2, 128, 512, 64
TN_STD = 0.0175925  # TruncatedNormal(0.02) cut at 2 std: the realised std


def _bert_config(layers: int = LAYERS) -> Any:
    return transformers.BertConfig(vocab_size=V, hidden_size=D, num_hidden_layers=layers,
                                   num_attention_heads=H, intermediate_size=F,
                                   max_position_embeddings=L, type_vocab_size=2)


@pytest.fixture(scope="module")
def bert() -> tuple[Any, Any]:
    backbone = keras_hub.models.BertBackbone(vocabulary_size=V, num_layers=LAYERS, num_heads=H,
                                             hidden_dim=D, intermediate_dim=F,
                                             max_sequence_length=L)
    return backbone, read(backbone)


@pytest.fixture(scope="module")
def gpt2() -> tuple[Any, Any]:
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=V, num_layers=LAYERS, num_heads=H,
                                             hidden_dim=D, intermediate_dim=F,
                                             max_sequence_length=L)
    return backbone, read(backbone)


def _gpt2_model() -> Any:
    config = transformers.GPT2Config(vocab_size=V, n_positions=L, n_embd=D, n_layer=LAYERS,
                                     n_head=H, n_inner=F, bos_token_id=0, eos_token_id=0)
    return transformers.GPT2Model(config)


def _bert_expected(kv: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {"embeddings.word_embeddings.weight": kv["token_embedding/embeddings"],
           "embeddings.position_embeddings.weight": kv["position_embedding/embeddings"],
           "embeddings.token_type_embeddings.weight": kv["segment_embedding/embeddings"],
           "embeddings.LayerNorm.weight": kv["embeddings_layer_norm/gamma"],
           "embeddings.LayerNorm.bias": kv["embeddings_layer_norm/beta"],
           "pooler.dense.weight": kv["pooled_dense/kernel"].T,
           "pooler.dense.bias": kv["pooled_dense/bias"]}
    for i in range(LAYERS):
        k, t = f"transformer_layer_{i}/", f"encoder.layer.{i}."
        for q in ("query", "key", "value"):
            out[f"{t}attention.self.{q}.weight"] = \
                kv[f"{k}self_attention_layer/{q}/kernel"].reshape(D, D).T
            out[f"{t}attention.self.{q}.bias"] = kv[f"{k}self_attention_layer/{q}/bias"].ravel()
        out[f"{t}attention.output.dense.weight"] = \
            kv[f"{k}self_attention_layer/attention_output/kernel"].reshape(D, D).T
        out[f"{t}attention.output.dense.bias"] = \
            kv[f"{k}self_attention_layer/attention_output/bias"]
        for torch_name, keras_name in (("attention.output.LayerNorm", "self_attention_layer_norm"),
                                       ("output.LayerNorm", "feedforward_layer_norm")):
            out[f"{t}{torch_name}.weight"] = kv[f"{k}{keras_name}/gamma"]
            out[f"{t}{torch_name}.bias"] = kv[f"{k}{keras_name}/beta"]
        for torch_name, keras_name in (("intermediate.dense", "feedforward_intermediate_dense"),
                                       ("output.dense", "feedforward_output_dense")):
            out[f"{t}{torch_name}.weight"] = kv[f"{k}{keras_name}/kernel"].T
            out[f"{t}{torch_name}.bias"] = kv[f"{k}{keras_name}/bias"]
    return out


def _gpt2_expected(kv: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {"wte.weight": kv["token_embedding/embeddings"],
           "wpe.weight": kv["position_embedding/embeddings"],
           "ln_f.weight": kv["layer_norm/gamma"], "ln_f.bias": kv["layer_norm/beta"]}
    for i in range(LAYERS):
        k, t = f"transformer_layer_{i}/", f"h.{i}."
        att = f"{k}self_attention/"
        out[f"{t}attn.c_attn.weight"] = np.concatenate(
            [kv[f"{att}{q}/kernel"].reshape(D, D) for q in ("query", "key", "value")], axis=1)
        out[f"{t}attn.c_attn.bias"] = np.concatenate(
            [kv[f"{att}{q}/bias"].ravel() for q in ("query", "key", "value")])
        out[f"{t}attn.c_proj.weight"] = kv[f"{att}attention_output/kernel"].reshape(D, D)
        out[f"{t}attn.c_proj.bias"] = kv[f"{att}attention_output/bias"]
        out[f"{t}ln_1.weight"] = kv[f"{k}self_attention_layer_norm/gamma"]
        out[f"{t}ln_1.bias"] = kv[f"{k}self_attention_layer_norm/beta"]
        out[f"{t}ln_2.weight"] = kv[f"{k}feedforward_layer_norm/gamma"]
        out[f"{t}ln_2.bias"] = kv[f"{k}feedforward_layer_norm/beta"]
        out[f"{t}mlp.c_fc.weight"] = kv[f"{k}feedforward_intermediate_dense/kernel"]
        out[f"{t}mlp.c_fc.bias"] = kv[f"{k}feedforward_intermediate_dense/bias"]
        out[f"{t}mlp.c_proj.weight"] = kv[f"{k}feedforward_output_dense/kernel"]
        out[f"{t}mlp.c_proj.bias"] = kv[f"{k}feedforward_output_dense/bias"]
    return out


@pytest.mark.parametrize("which", ["bert", "gpt2"])
def test_twin_equals_keras_weights_bit_for_bit(which: str, request: pytest.FixtureRequest) -> None:
    backbone, plan = request.getfixturevalue(which)
    model = transformers.BertModel(_bert_config()) if which == "bert" else _gpt2_model()
    report = plan.apply(model, rng="tensorflow")
    names = [n for n, _ in model.named_parameters()]
    assert report.ok and [e.torch_name for e in report.entries] == names
    assert all(e.status == "applied" for e in report.entries)
    assert not report.unmatched_keras
    kv = {v.path: np.asarray(v.numpy()) for v in backbone.weights}
    expected = (_bert_expected if which == "bert" else _gpt2_expected)(kv)
    assert sorted(expected) == sorted(names)  # the independent table covers every parameter
    for name, param in model.named_parameters():
        np.testing.assert_array_equal(param.detach().numpy(), expected[name], err_msg=name)


def _std_ok(t: torch.Tensor, std: float) -> bool:
    """Sample std within 6 % (or 5.4 standard errors for small tensors), mean within 4 s.e."""
    n = t.numel()
    tol = max(0.06, 5.4 / (2 * n) ** 0.5)
    return abs(float(t.std()) / std - 1) < tol and abs(float(t.mean())) < 4 * std / n ** 0.5


def test_bert_distributions(bert: tuple[Any, Any]) -> None:
    model = transformers.BertModel(_bert_config())
    own = model.encoder.layer[0].attention.self.query.weight.detach()
    assert not _std_ok(own, TN_STD) and float(own.abs().max()) > 0.04  # transformers' N(0, 0.02)
    report = bert[1].apply(model, generator=torch.Generator().manual_seed(0))
    assert len(report.applied) == len(list(model.parameters())) == 5 + 2 + 16 * LAYERS
    for name, p in model.named_parameters():
        w = p.detach()
        if name.endswith("bias"):
            assert torch.equal(w, torch.zeros_like(w)), name
        elif "LayerNorm" in name:
            assert torch.equal(w, torch.ones_like(w)), name
        else:
            assert _std_ok(w, TN_STD), (name, float(w.std()))
            assert float(w.abs().max()) <= np.float32(0.04), name
            assert w.numel() < 4096 or float(w.abs().max()) > 0.039, name


def test_gpt2_distributions(gpt2: tuple[Any, Any]) -> None:
    model = _gpt2_model()
    assert _std_ok(model.h[0].attn.c_proj.weight.detach(), 0.01)  # transformers' own rescaling
    report = gpt2[1].apply(model, generator=torch.Generator().manual_seed(0))
    assert len(report.applied) == len(list(model.parameters())) == 4 + 12 * LAYERS
    for name, p in model.named_parameters():
        w = p.detach()
        if name.endswith("bias"):
            assert torch.equal(w, torch.zeros_like(w)), name
        elif ".ln_" in name or name.startswith("ln_f"):
            assert torch.equal(w, torch.ones_like(w)), name
        else:
            std = 0.01 if name == "wte.weight" else 0.02
            assert w.numel() >= 4096 and _std_ok(w, std), (name, float(w.std()))
            assert float(w.abs().max()) > 3 * std, name  # untruncated: P(max < 3 std) ~ 2e-5
    assert report["h.1.attn.c_attn.weight"].keras_weight == "query/kernel,key/kernel,value/kernel"


def test_wrapped_twin_and_mismatch(bert: tuple[Any, Any]) -> None:
    mlm = transformers.BertForMaskedLM(_bert_config())
    report = bert[1].apply(mlm)
    statuses = {e.torch_name: e.status for e in report.entries}
    assert statuses["bert.encoder.layer.1.attention.self.value.weight"] == "applied"
    assert all(s == "applied" for n, s in statuses.items() if n.startswith("bert."))
    assert {s for n, s in statuses.items() if not n.startswith("bert.")} == {"untouched"}
    assert report["cls.predictions.bias"].note.startswith("outside the BertModel twin")
    assert report.unmatched_keras == ("pooled_dense",)
    assert [(d.keras_layer, d.keras_weight) for d in report.dropped] == [
        ("pooled_dense", "kernel"), ("pooled_dense", "bias")]
    kept = bert[1].drop("token_embedding/embeddings").apply(transformers.BertModel(_bert_config()))
    assert kept.ok and kept["embeddings.word_embeddings.weight"].status == "untouched"
    assert "plan.drop('token_embedding/embeddings')" in kept["embeddings.word_embeddings.weight"].note
    assert len(kept.applied) == len(kept.entries) - 1
    deeper = transformers.BertModel(_bert_config(layers=3))
    before = {n: p.detach().clone() for n, p in deeper.named_parameters()}
    with pytest.raises(PlanMismatchError, match=r"encoder\.layer\.2\.attention\.self\.query"):
        bert[1].apply(deeper)
    assert all(torch.equal(p, before[n]) for n, p in deeper.named_parameters())


def test_porting_doc_bert_section_is_current() -> None:
    """docs/porting.md's BERT section runs, and every line it shows is what the report prints."""
    import contextlib
    import io
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "porting.md").read_text("utf-8")
    section = doc[doc.index("BERT → transformers: live Keras models"):]
    code, shown = re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", section, flags=re.S)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/porting.md", "exec"), {"__name__": "porting_doc_bert"})
    printed = out.getvalue().splitlines()
    for line in shown.splitlines():
        assert line == "..." or line in printed, line


def test_meta_twin_is_planned_not_applied(bert: tuple[Any, Any]) -> None:
    with torch.device("meta"):
        model = transformers.BertModel(_bert_config())
    report = bert[1].apply(model)
    assert report.ok and not report.applied
    assert {e.status for e in report.entries} == {"planned"}
