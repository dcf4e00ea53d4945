"""Order inference for ``set_random_seed`` replay (:mod:`kerasinit.porting.replay_order`).

Hand-written functional configs, no Keras needed: the graph, automatic names, numbered names,
the shorter-branch tie-breaker, nested models and the confidence of each drawing layer.
"""

from __future__ import annotations

from typing import Any

import pytest

import kerasinit
from kerasinit.porting.replay_order import infer_order


def _node(cls: str, name: str, *parents: str, kwargs: dict[str, Any] | None = None,
          **config: Any) -> dict[str, Any]:
    inbound = [[[p, 0, 0, kwargs or {}] for p in parents]] if parents else []
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": inbound}


def _model(*layers: dict[str, Any]) -> dict[str, Any]:
    return {"class_name": "Functional", "config": {"name": "m", "layers": [
        _node("InputLayer", "x", batch_input_shape=[None, 4]), *layers]}}


def _infer(cfg: dict[str, Any], rule: str = "construction") -> tuple[list[str], dict[str, str]]:
    groups = [e["name"] for e in cfg["config"]["layers"] if e["class_name"] == "Dense"]
    got = infer_order(cfg, groups, rule)  # type: ignore[arg-type]
    return list(got.order), dict(got.confidence)


def test_a_chain_is_certain_in_any_listed_order() -> None:
    order, conf = _infer(_model(_node("Dense", "b", "a_pre"), _node("Dense", "a_pre", "x")))
    assert order == ["a_pre", "b"] and set(conf.values()) == {"certain"}


def test_automatic_names_order_parallel_branches() -> None:
    cfg = _model(_node("Dense", "dense_3", "x"), _node("Dense", "dense_1", "x"),
                 _node("Dense", "dense_2", "x"), _node("Add", "add", "dense_1", "dense_2",
                                                       "dense_3"),
                 _node("Dense", "out", "add"))
    order, conf = _infer(cfg)
    assert order == ["dense_1", "dense_2", "dense_3", "out"]
    assert conf == {"dense_1": "inferred", "dense_2": "inferred", "dense_3": "inferred",
                    "out": "certain"}


def test_numbered_names_put_a_resnet_shortcut_first() -> None:
    """``blk_0_conv`` (shortcut) before ``blk_1_conv`` although Keras lists it later."""
    cfg = _model(_node("Dense", "blk_1_conv", "x"), _node("Dense", "blk_2_conv", "blk_1_conv"),
                 _node("Dense", "blk_0_conv", "x"),
                 _node("Add", "blk_add", "blk_2_conv", "blk_0_conv"))
    order, conf = _infer(cfg)
    assert order == ["blk_0_conv", "blk_1_conv", "blk_2_conv"]
    assert set(conf.values()) == {"inferred"}


def test_shorter_branch_first_is_a_guess() -> None:
    cfg = _model(_node("Dense", "main_a", "x"), _node("Dense", "main_b", "main_a"),
                 _node("Dense", "skip", "x"), _node("Add", "add", "main_b", "skip"))
    order, conf = _infer(cfg)
    assert order == ["skip", "main_a", "main_b"]
    assert set(conf.values()) == {"uncertain"}
    plan = kerasinit.porting.read(cfg, keras_version="3.15").replay(42)
    assert "skip: on a branch independent of main_a" in " ".join(plan.notes)


def test_contradicting_names_do_not_break_the_graph() -> None:
    """Numbered names that run against the data flow (a decoder ``up_2`` -> ``up_1``) lose."""
    cfg = _model(_node("Dense", "up_2", "x"), _node("Dense", "up_1", "up_2"))
    order, conf = _infer(cfg)
    assert order == ["up_2", "up_1"] and set(conf.values()) == {"certain"}


def test_tensors_in_call_kwargs_are_inputs() -> None:
    """tf.keras saves ``x + y`` as a TFOpLambda whose second operand sits in the kwargs."""
    cfg = _model(_node("Dense", "a", "x"), _node("Dense", "b", "x"),
                 _node("TFOpLambda", "tf.__operators__.add", "a", kwargs={"y": ["b", 0, 0]}),
                 _node("Dense", "c", "tf.__operators__.add"))
    _, conf = _infer(cfg)
    assert conf["c"] == "certain"


@pytest.mark.parametrize("rule", ["construction", "first call"])
def test_nested_models(rule: str) -> None:
    """Keras 3 code tends to construct sub-models ahead of their call (ConvNeXt); tf_keras
    draws at the first call, where the graph puts it."""
    inner = {"class_name": "Sequential", "name": "down", "config": {"name": "down", "layers": [
        {"class_name": "Dense", "config": {"name": "down_dense", "units": 2}}]},
        "inbound_nodes": [[["stage", 0, 0, {}]]]}
    cfg = _model(_node("Dense", "stage", "x"), inner, _node("Dense", "head", "down"))
    got = infer_order(cfg, ["stage", "down/down_dense", "head"], rule)  # type: ignore[arg-type]
    if rule == "construction":
        assert got.order == ("down/down_dense", "stage", "head")
        assert got.confidence["down/down_dense"] == "uncertain"
    else:
        assert got.order == ("stage", "down/down_dense", "head")
        assert set(got.confidence.values()) == {"certain"}


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("conv_2_left", "conv_1_left", "inferred"),  # agree but in the number: ordered
    ("conv_2_left", "conv_1_right", "uncertain"),  # two tokens differ: no hint
])
def test_numbered_names_must_agree_elsewhere(first: str, second: str, expected: str) -> None:
    cfg = _model(_node("Dense", first, "x"), _node("Dense", second, "x"),
                 _node("Add", "add", first, second))
    order, conf = _infer(cfg)
    assert set(conf.values()) == {expected}
    if expected == "inferred":
        assert order == [second, first]
