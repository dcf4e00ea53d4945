"""keras_hub layers in saved files, and which keras_hub backbones a live read covers.

* A functional model made of keras_hub's ``TokenAndPositionEmbedding``, ``TransformerEncoder``,
  ``TransformerDecoder`` (with and without cross-attention) and ``PositionEmbedding``, saved as
  ``.keras`` and ``to_json()``: the file's plan has the rows of the live model's plan, every one
  of its 63 weights (the composite layers are expanded into the sublayers keras_hub builds).
* (slow) a one-block keras_hub backbone of each family is read live: every weight is planned,
  except the model-specific norm layers (and T5's relative attention embeddings), which are
  listed in ``plan.skipped``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
keras = pytest.importorskip("keras")
keras_hub = pytest.importorskip("keras_hub", reason="needs keras-hub (the test extra)")

from kerasinit.porting import read  # noqa: E402

pytestmark = [pytest.mark.tf]


def _key(row: Any) -> tuple[Any, ...]:
    return (row.layer, row.weight, row.keras_shape, row.initializer)


def test_hub_layers_in_files_plan_like_the_live_model(tmp_path: Path) -> None:
    L = keras_hub.layers
    tok = keras.Input((6,), dtype="int32")
    x = L.TokenAndPositionEmbedding(50, 6, 8, name="embed")(tok)
    enc = L.TransformerEncoder(16, 2, name="enc")(x)
    dec = L.TransformerDecoder(16, 2, name="dec")(x, enc)
    dec2 = L.TransformerDecoder(16, 2, kernel_initializer="he_normal", name="dec_only")(dec)
    y = L.PositionEmbedding(6, name="pos")(dec2)
    model = keras.Model(tok, keras.layers.Dense(3, name="out")(keras.layers.Add()([dec2, y])))
    live = read(model)
    assert len(live.rows) == len(model.weights) == 63
    model.save(tmp_path / "hub.keras")
    for source in (tmp_path / "hub.keras", model.to_json()):
        saved = read(source, keras_version=keras.__version__)
        assert [_key(r) for r in saved.rows] == [_key(r) for r in live.rows]
    cross = [r.weight for r in live.rows if r.layer == "dec/cross_attention"]
    assert cross[0] == "query/kernel" and not any(r.layer == "dec_only/cross_attention"
                                                  for r in live.rows)
    he = {r.initializer.name for r in live.rows if r.layer.startswith("dec_only/")
          and r.weight.endswith("kernel")}
    assert he == {"he_normal"}


_SMALL = {"vocabulary_size": 64, "num_layers": 1, "num_heads": 2, "hidden_dim": 8,
          "intermediate_dim": 16}
_GQA = {"vocabulary_size": 64, "num_layers": 1, "num_query_heads": 2, "num_key_value_heads": 1,
        "hidden_dim": 8, "intermediate_dim": 16}
BACKBONES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "BertBackbone": ({**_SMALL, "max_sequence_length": 16}, set()),
    "GPT2Backbone": ({**_SMALL, "max_sequence_length": 16}, set()),
    "RobertaBackbone": ({**_SMALL, "max_sequence_length": 16}, set()),
    "XLMRobertaBackbone": ({**_SMALL, "max_sequence_length": 16}, set()),
    "DistilBertBackbone": ({**_SMALL, "max_sequence_length": 16}, set()),
    "AlbertBackbone": ({**_SMALL, "embedding_dim": 8, "max_sequence_length": 16}, set()),
    "DebertaV3Backbone": ({**_SMALL, "max_sequence_length": 16, "bucket_size": 4}, set()),
    "ElectraBackbone": ({"vocab_size": 64, "num_layers": 1, "num_heads": 2, "hidden_dim": 8,
                         "embedding_dim": 8, "intermediate_dim": 16,
                         "max_sequence_length": 16}, set()),
    "OPTBackbone": ({**_SMALL, "max_sequence_length": 16}, set()),
    "BartBackbone": ({**_SMALL, "max_sequence_length": 16}, set()),
    "FNetBackbone": ({"vocabulary_size": 64, "num_layers": 1, "hidden_dim": 8,
                      "intermediate_dim": 16, "max_sequence_length": 16}, set()),
    "LlamaBackbone": (_GQA, {"LlamaLayerNorm"}),
    "MistralBackbone": (_GQA, {"MistralLayerNormalization"}),
    "GemmaBackbone": ({**_GQA, "head_dim": 4}, {"RMSNormalization"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_keras_hub_backbone_coverage(name: str) -> None:
    kwargs, skipped_classes = BACKBONES[name]
    backbone = getattr(keras_hub.models, name)(**kwargs)
    plan = read(backbone, strict=False)
    planned = {r.variable_path for r in plan.rows}
    every = {v.path for v in backbone.weights}
    assert {s.class_name for s in plan.skipped} == skipped_classes
    missing = every - planned
    assert all(any(s.path.split("/")[-1] in m for s in plan.skipped) for m in missing), missing
    assert bool(missing) == bool(skipped_classes)
