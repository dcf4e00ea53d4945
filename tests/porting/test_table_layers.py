"""Layers added by editing only the Keras layer table (kerasinit/mappings/layers/table.py).

keras_hub's ``PositionEmbedding`` (initializer key ``initializer``, default glorot_uniform,
weight ``(sequence_length, hidden)``) and the DINOv2/DINOv3 ``LayerScale`` layers (no
initializer key: ``lambda1`` of shape ``(hidden_dim,)`` starts at ``init_values``, default 1.0);
keras_hub's ``LlamaLayerNorm`` (no initializer key: ``scale`` of shape ``(last input dim,)``
starts at ones), added as one row after the draw table was folded into the layer table.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import kerasinit
from kerasinit.mappings.layers import KERAS3_DRAWS, layer


def _model(*layers: dict[str, object]) -> str:
    return json.dumps({"class_name": "Sequential", "keras_version": "3.15.1",
                       "config": {"name": "m", "layers": [
                           {"class_name": "InputLayer",
                            "config": {"batch_shape": [None, 16, 8], "name": "in"}},
                           *layers]}})


def test_position_embedding_and_layer_scale_are_planned() -> None:
    plan = kerasinit.porting.read(_model(
        {"class_name": "PositionEmbedding", "registered_name": "keras_hub>PositionEmbedding",
         "config": {"name": "pos", "sequence_length": 16}},
        {"class_name": "DINOV2LayerScale", "registered_name": "keras_hub>DINOV2LayerScale",
         "config": {"name": "ls", "hidden_dim": 8, "init_values": 1e-5}},
        {"class_name": "DINOV3LayerScale",
         "config": {"name": "ls3", "hidden_dim": 8}}))
    rows = [(r.layer, r.weight, r.keras_shape, r.resolved.distribution.formula())
            for r in plan.rows if r.resolved is not None]
    bound = (6 / (16 + 8)) ** 0.5
    assert rows == [
        ("pos", "embeddings", (16, 8), f"U[{-bound:g}, {bound:g})"),
        ("ls", "lambda1", (8,), "constant 1e-05"),
        ("ls3", "lambda1", (8,), "constant 1.0"),
    ]


def test_position_embedding_reads_its_initializer_key() -> None:
    plan = kerasinit.porting.read(_model(
        {"class_name": "PositionEmbedding",
         "config": {"name": "pos", "sequence_length": 16, "initializer": "zeros"}}))
    assert [r.resolved.distribution.formula() for r in plan.rows if r.resolved] == ["constant 0.0"]
    assert layer("PositionEmbedding") is not None


def test_llama_layer_norm_is_planned_from_its_row() -> None:
    """keras_hub's ``LlamaLayerNorm`` (added as one row of the layer table): ``scale`` of shape
    (last input dim,), Keras creates it with ``initializer="ones"``; it draws no seed."""
    plan = kerasinit.porting.read(_model(
        {"class_name": "LlamaLayerNorm", "registered_name": "keras_hub>LlamaLayerNorm",
         "config": {"name": "norm", "epsilon": 1e-6}}))
    assert [(r.layer, r.weight, r.keras_shape, r.resolved.distribution.formula())
            for r in plan.rows if r.resolved is not None] == [
        ("norm", "scale", (8,), "constant 1.0")]
    assert layer("LlamaLayerNorm") is not None
    assert KERAS3_DRAWS["LlamaLayerNorm"].init == ()


def test_llama_layer_norm_matches_keras_hub() -> None:
    """The live keras_hub layer has the weights the row states, and building it leaves Python's
    ``random`` untouched (no draw: the row's ``draws`` is empty)."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras_hub")
    from keras_hub.src.models.llama.llama_layernorm import LlamaLayerNorm

    state = random.getstate()
    live = LlamaLayerNorm(epsilon=1e-6, name="norm")
    live.build((None, 16, 8))
    assert random.getstate() == state
    assert [(w.path.split("/")[-1], tuple(w.shape)) for w in live.weights] == [("scale", (8,))]
    assert np.array_equal(np.asarray(live.weights[0]), np.ones(8))
    plan = kerasinit.porting.read(_model(
        {"class_name": type(live).__name__, "config": live.get_config()}))
    assert [(r.weight, r.keras_shape) for r in plan.rows] == [("scale", (8,))]
