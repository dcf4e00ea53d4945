"""keras_hub backbones saved to ``.keras`` files: planned from their constructor arguments and
replayed (``set_random_seed``) bit for bit; other keras_hub objects are refused with a recipe.

The backbones (tiny BERT, GPT-2 without dropout, DistilBERT) are built on Keras 3 (TensorFlow
backend) after ``set_random_seed(42)`` in a subprocess; needs TensorFlow and keras_hub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit.bridge.initializer import Initializer
from kerasinit.porting.readers import ModelFileError

SEED = 42
_HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def hub_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras_hub")
    out = tmp_path_factory.mktemp("hub")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, str(_HERE / "replay_hub.py"), str(SEED), str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or "built 3." not in proc.stdout:
        pytest.skip(f"keras_hub on TensorFlow unavailable: {proc.stderr[-400:]}")
    return out


@pytest.mark.parametrize(("name", "tensors"), [
    ("BertBackbone", 16), ("GPT2Backbone", 14), ("DistilBertBackbone", 8)])
def test_backbone_file_replays_bit_exact(hub_files: Path, name: str, tensors: int) -> None:
    saved = dict(np.load(hub_files / f"{name}.npz"))
    plan = kerasinit.porting.read(hub_files / f"{name}.keras")
    weights = {k: v for k, v in saved.items() if not k.startswith(":")}
    # the plan has the live model's weights: every variable path, shape and nothing else
    assert {f"{r.layer}/{r.weight}": r.keras_shape for r in plan.rows} == {
        k: v.shape for k, v in weights.items()}
    checked = 0
    for row in plan.replay(SEED).rows:
        want = weights[f"{row.layer}/{row.weight}"]
        if not row.initializer.is_random:
            continue
        assert row.seed_source.startswith("draw #") and "," not in row.seed_source  # certain
        got = torch.empty(want.shape)
        Initializer(row.initializer, row.keras_version, rng="tensorflow")(got, layout="keras")
        np.testing.assert_array_equal(got.numpy(), want, err_msg=f"{row.layer}/{row.weight}")
        checked += 1
    assert checked == tensors
    # the recipe for other backbones: set_random_seed + load_model draws the same seeds
    assert bool(saved[":same_seeds_after_load"])


def test_other_keras_hub_objects_are_refused_with_a_recipe(tmp_path: Path) -> None:
    path = tmp_path / "t5.json"
    path.write_text(json.dumps({
        "module": "keras_hub.src.models.t5.t5_backbone", "class_name": "T5Backbone",
        "registered_name": "keras_hub>T5Backbone", "config": {"name": "t5", "num_layers": 2}}))
    with pytest.raises(ModelFileError, match=r"(?s)constructor arguments.*load_model.*"
                                             r"read\(model\).*set_random_seed"):
        kerasinit.porting.read(path)


@pytest.mark.parametrize("bad", [{"num_layers": -1}, {"num_layers": True},
                                 {"hidden_dim": 7}, {"dropout": 2.0}, {"num_heads": "2"}])
def test_backbone_arguments_are_validated(bad: dict[str, object]) -> None:
    config = {"vocabulary_size": 50, "num_layers": 1, "num_heads": 2, "hidden_dim": 8,
              "intermediate_dim": 16, **bad}
    with pytest.raises(ModelFileError, match="BertBackbone"):
        kerasinit.porting.read({"class_name": "BertBackbone", "config": config})


def test_bert_file_into_a_transformers_twin(hub_files: Path) -> None:
    """The recipe end to end: the saved BERT file, replayed into a Hugging Face BertModel
    twin, gives Keras's initial weights (after the layout moves)."""
    transformers = pytest.importorskip("transformers")
    weights = dict(np.load(hub_files / "BertBackbone.npz"))
    twin = transformers.BertModel(transformers.BertConfig(
        vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=16, max_position_embeddings=12, type_vocab_size=2))
    report = kerasinit.porting.read(hub_files / "BertBackbone.keras").apply(
        twin, rng="tensorflow", keras_seed=SEED)
    assert len(report.applied) == 39

    def same(param: torch.Tensor, keras: np.ndarray) -> bool:
        return bool(np.array_equal(param.detach().numpy(), keras))

    layer = twin.encoder.layer[1]
    assert same(twin.embeddings.word_embeddings.weight, weights["token_embedding/embeddings"])
    assert same(twin.embeddings.token_type_embeddings.weight,
                weights["segment_embedding/embeddings"])
    assert same(layer.attention.self.key.weight, weights[
        "transformer_layer_1/self_attention_layer/key/kernel"].reshape(8, -1).T)
    assert same(layer.output.dense.weight,
                weights["transformer_layer_1/feedforward_output_dense/kernel"].T)
    assert same(twin.pooler.dense.weight, weights["pooled_dense/kernel"].T)
