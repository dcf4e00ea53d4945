"""Keras 3.16 semantics as ``keras_version="3.16"`` and in files that record or imply 3.16.

Checked-in configs (``tests/data/porting/``): ``keras3_16_norms_identity.json`` and
``keras3_15_norms_identity.json`` are ``model.to_json()`` of the same model (LayerNormalization
``axis=[1, -1]`` and ``axis=-1`` on input (None, 5, 7), BatchNormalization ``momentum=0.9``,
Dense with ``Identity(gain=2.0)``) from keras-nightly 3.16.0.dev2026102704 and Keras 3.15.1.
The weight shapes those Keras versions built are the expected values below.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import torch

import kerasinit
from kerasinit import porting
from kerasinit.mappings.errors import UnknownInitializerError
from kerasinit.porting.build import CustomObjectError
from kerasinit.porting.layerdefs import RefusedConfigError

DATA = pathlib.Path(__file__).parents[1] / "data" / "porting"

#: the shapes Keras built (model.weights) when the checked-in configs were written
BUILT = {
    "3.16": {"ln_pair/gamma": (5, 7), "ln_last/gamma": (7,), "bn/gamma": (7,),
             "eye/kernel": (7, 7)},
    "3.15": {"ln_pair/gamma": (7, 5), "ln_last/gamma": (7,), "bn/gamma": (7,),
             "eye/kernel": (7, 7)},
}


def _shapes(plan: porting.Plan) -> dict[str, Any]:
    return {f"{r.layer}/{r.weight}": r.keras_shape for r in plan.rows}


@pytest.mark.parametrize("minor", ["3.16", "3.15"])
def test_checked_in_configs_plan_the_shapes_keras_built(minor: str) -> None:
    plan = porting.read(DATA / f"keras3_{minor[2:]}_norms_identity.json")
    shapes = _shapes(plan)
    for name, shape in BUILT[minor].items():
        assert shapes[name] == shape, name


def test_316_file_keeps_identity_gain_and_implies_316() -> None:
    plan = porting.read(DATA / "keras3_16_norms_identity.json")
    assert str(plan.keras_version) == "3.16" and "Identity" in plan.version_source
    eye = next(r for r in plan.rows if r.layer == "eye" and r.weight == "kernel")
    assert eye.initializer.get_config() == {"gain": 2.0} and eye.note == ""
    model = torch.nn.Linear(7, 7)
    kerasinit.get(eye.initializer, keras_version="3.16")(model.weight)
    assert torch.equal(model.weight.detach(), 2.0 * torch.eye(7))


def test_315_file_says_identity_gain_was_not_saved() -> None:
    plan = porting.read(DATA / "keras3_15_norms_identity.json")
    eye = next(r for r in plan.rows if r.layer == "eye" and r.weight == "kernel")
    assert eye.initializer.get_config() == {"gain": 1.0}
    assert "does not save Identity's gain" in eye.note and "1.0 is assumed" in eye.note
    assert "does not save Identity's gain" in str(plan)


def _seq(layer: dict[str, Any], version: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"class_name": "Sequential", "module": "keras", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 5, 7]}}, layer]}}
    if version:
        out["keras_version"] = version
    return out


# config axis -> gamma shape per version, on input (None, 5, 7) (measured: 3.15.1, nightly, tf_keras)
LN_CASES = [
    ([1, -1], {"3.15": (7, 5), "3.16": (5, 7), "2": (5, 7)}),
    ([-1, 1], {"3.15": (7, 5), "3.16": (5, 7), "2": (7, 5)}),
    (-1, {"3.15": (7,), "3.16": (7,), "2": (7,)}),
    ([2], {"3.15": (7,), "3.16": (7,), "2": (7,)}),  # 3.16 saves axis=-1 as [2]
    ([2, -1], {"3.15": (7, 7), "3.16": None, "2": None}),  # duplicates: refused by 3.16, tf_keras
]


@pytest.mark.parametrize(("axis", "expected"), LN_CASES, ids=[str(a) for a, _ in LN_CASES])
@pytest.mark.parametrize("version", ["3.15", "3.16", "2"])
def test_layer_norm_axes_per_version(axis: object, expected: dict[str, Any], version: str) -> None:
    layer = {"class_name": "LayerNormalization", "config": {"name": "ln", "axis": axis}}
    if expected[version] is None:
        with pytest.raises(RefusedConfigError, match="twice"):
            porting.read(_seq(layer, None), keras_version=version)
        return
    plan = porting.read(_seq(layer, None), keras_version=version)
    assert _shapes(plan) == {"ln/gamma": expected[version], "ln/beta": expected[version]}


@pytest.mark.parametrize("momentum", [1.5, -0.1, 1.0001])
def test_batch_norm_momentum_out_of_range_refused_by_316_only(momentum: float) -> None:
    layer = {"class_name": "BatchNormalization", "config": {"name": "bn", "momentum": momentum}}
    for version in ("3.15", "3.14", "2"):
        assert _shapes(porting.read(_seq(layer, None), keras_version=version))["bn/gamma"] == (7,)
    with pytest.raises(RefusedConfigError, match=r"momentum=.* is outside \[0, 1\]"):
        porting.read(_seq(layer, "3.16.0.dev2026102704"))


@pytest.mark.parametrize("momentum", [0, 0.0, 0.99, 1])
def test_batch_norm_momentum_in_range_accepted_by_316(momentum: float) -> None:
    layer = {"class_name": "BatchNormalization", "config": {"name": "bn", "momentum": momentum}}
    assert _shapes(porting.read(_seq(layer, None), keras_version="3.16"))["bn/gamma"] == (7,)


def test_identity_round_trip_keeps_gain_for_316() -> None:
    init = kerasinit.get({"class_name": "Identity", "config": {"gain": 2.0}}, keras_version="3.16")
    again = kerasinit.Initializer.from_config(init.get_config(), class_name="Identity",
                                              keras_version="3.16")
    assert init.get_config() == {"gain": 2.0} and again == init
    w = torch.empty(3, 3)
    again(w)
    assert torch.equal(w, 2.0 * torch.eye(3))


def test_custom_name_by_string_refused_by_316_as_keras_does() -> None:
    customs = {"MyInit": "he_normal"}
    assert kerasinit.get("MyInit", custom_objects=customs, keras_version="3.15").name == "he_normal"
    with pytest.raises(UnknownInitializerError, match=r"Keras 3\.16 looks a string up only"):
        kerasinit.get("MyInit", custom_objects=customs, keras_version="3.16")
    # a config dict still finds it (Keras 3.16 deserializes it through the custom objects)
    got = kerasinit.get({"class_name": "MyInit", "config": {}}, custom_objects=customs,
                        keras_version="3.16")
    assert got.name == "he_normal"
    layer = {"class_name": "Dense", "config": {"name": "d", "units": 2,
                                                "kernel_initializer": "MyInit"}}
    plan = porting.read(_seq(layer, "3.15.1"), custom_objects=customs)
    assert plan.rows[0].initializer.name == "he_normal"
    with pytest.raises(CustomObjectError, match=r"Keras 3\.16 looks a string up only"):
        porting.read(_seq(layer, "3.16.0"), custom_objects=customs)
