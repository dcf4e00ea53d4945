"""Parsing: every accepted identifier form -> the right spec, and Keras-compatible configs.

Expected canonical names, class names, defaults and configs are written out here from
``shared/reference/keras-initializers.md`` §1 (registries), §2.1 (signatures), §7 (serialized
forms); live Keras / tf_keras objects are used where installed (``pytest.importorskip``).
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np
import pytest
import torch

import kerasinit
from kerasinit.mappings.table import ROWS

# -- §1.1 / §1.2 / §1.3: every accepted key -> (canonical name) -------------------------------
KERAS3_KEYS: dict[str, str] = {
    "Constant": "constant", "constant": "constant",
    "Zeros": "zeros", "zeros": "zeros", "zero": "zeros",
    "Ones": "ones", "ones": "ones", "one": "ones",
    "Identity": "identity", "identity": "identity", "IdentityInitializer": "identity",
    "STFT": "stft", "stft": "stft", "STFTInitializer": "stft",
    "RandomNormal": "random_normal", "random_normal": "random_normal", "normal": "random_normal",
    "RandomUniform": "random_uniform", "random_uniform": "random_uniform",
    "uniform": "random_uniform",
    "TruncatedNormal": "truncated_normal", "truncated_normal": "truncated_normal",
    "VarianceScaling": "variance_scaling", "variance_scaling": "variance_scaling",
    "GlorotUniform": "glorot_uniform", "glorot_uniform": "glorot_uniform",
    "GlorotNormal": "glorot_normal", "glorot_normal": "glorot_normal",
    "HeUniform": "he_uniform", "he_uniform": "he_uniform",
    "HeNormal": "he_normal", "he_normal": "he_normal",
    "LecunUniform": "lecun_uniform", "lecun_uniform": "lecun_uniform",
    "LecunNormal": "lecun_normal", "lecun_normal": "lecun_normal",
    "Orthogonal": "orthogonal", "orthogonal": "orthogonal", "OrthogonalInitializer": "orthogonal",
}
TF_KERAS_V2_KEYS: dict[str, str] = {
    "ConstantV2": "constant", "GlorotNormalV2": "glorot_normal",
    "GlorotUniformV2": "glorot_uniform", "HeNormalV2": "he_normal", "HeUniformV2": "he_uniform",
    "IdentityV2": "identity", "LecunNormalV2": "lecun_normal", "LecunUniformV2": "lecun_uniform",
    "OnesV2": "ones", "OrthogonalV2": "orthogonal", "RandomNormalV2": "random_normal",
    "RandomUniformV2": "random_uniform", "TruncatedNormalV2": "truncated_normal",
    "VarianceScalingV2": "variance_scaling", "ZerosV2": "zeros",
    "glorot_normalV2": "glorot_normal", "glorot_uniformV2": "glorot_uniform",
    "he_normalV2": "he_normal", "he_uniformV2": "he_uniform", "lecun_normalV2": "lecun_normal",
    "lecun_uniformV2": "lecun_uniform",
}
HISTORICAL_KEYS = {"orthogonal_initializer": "orthogonal"}  # Keras 3.0-3.6 snake case
ALL_KEYS = {**KERAS3_KEYS, **TF_KERAS_V2_KEYS, **HISTORICAL_KEYS}

#: §2.1 / §2.3: (scale, mode, distribution) of the six presets
PRESETS = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}
#: §2.1: the Keras 3.15 get_config() of each bare name (defaults)
DEFAULT_CONFIGS: dict[str, dict[str, Any]] = {
    **{n: {"seed": None, "input_axes": None, "output_axes": None} for n in PRESETS},
    "variance_scaling": {"seed": None, "scale": 1.0, "mode": "fan_in",
                         "distribution": "truncated_normal", "input_axes": None,
                         "output_axes": None},
    "random_normal": {"seed": None, "mean": 0.0, "stddev": 0.05},
    "truncated_normal": {"seed": None, "mean": 0.0, "stddev": 0.05},
    "random_uniform": {"seed": None, "minval": -0.05, "maxval": 0.05},
    "orthogonal": {"seed": None, "gain": 1.0},
    "identity": {"gain": 1.0},
    "constant": {"value": 0.0},
    "zeros": {}, "ones": {},
    "stft": {"side": "real", "window": "hann", "periodic": False, "scaling": "density"},
}
CLASS = {
    "constant": "Constant", "zeros": "Zeros", "ones": "Ones", "identity": "Identity",
    "stft": "STFT", "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
    "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
    "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform", "he_normal": "HeNormal", "lecun_uniform": "LecunUniform",
    "lecun_normal": "LecunNormal", "orthogonal": "Orthogonal",
}


def test_key_lists_cover_the_table() -> None:
    assert set(ALL_KEYS.values()) == set(ROWS) == set(CLASS)
    assert len(KERAS3_KEYS) == 39 and len(TF_KERAS_V2_KEYS) == 21  # 41 Keras 3 keys - 2 refused


@pytest.mark.parametrize("key", sorted(ALL_KEYS))
def test_every_name_maps_to_its_canonical_row(key: str) -> None:
    init = kerasinit.get(key)
    canonical = ALL_KEYS[key]
    assert init.name == canonical
    assert init.class_name == CLASS[canonical]
    assert init.get_config() == DEFAULT_CONFIGS[canonical]
    # the same name inside a module-less (Keras 2 legacy) dict and a Keras 3 dict
    assert kerasinit.get({"class_name": key, "config": {}}).name == canonical
    assert kerasinit.get({"module": "keras.initializers", "class_name": key, "config": {},
                          "registered_name": None}).name == canonical


@pytest.mark.parametrize("name", ["normal", "uniform", "zero", "one", "lecun_uniform",
                                  "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
                                  "orthogonal", "identity"])
def test_keras1_function_names_load_with_keras1_semantics(name: str) -> None:
    """§1.3: Keras 1 wrote plain strings; §4.3: glorot_normal/he_normal untruncated, scale 1.1."""
    init = kerasinit.get(name, keras_version="1")
    r = init.describe((20, 30))  # torch (out=20, in=30) -> Keras (30, 20)
    assert (r.fan_in, r.fan_out) == (30.0, 20.0)
    dist = r.distribution
    if name == "he_normal":
        assert type(dist).__name__ == "Normal" and dist.std == pytest.approx((2 / 30) ** 0.5)
    elif name == "glorot_normal":
        assert type(dist).__name__ == "Normal" and dist.std == pytest.approx((2 / 50) ** 0.5)
    elif name == "orthogonal":
        assert init.get_config()["gain"] == pytest.approx(1.1)
    elif name == "normal":
        assert (dist.mean, dist.std) == (0.0, 0.05)
    elif name == "uniform":
        assert (dist.low, dist.high) == (-0.05, 0.05)


def test_keras2_legacy_variance_scaling_normal_reads_by_version() -> None:
    """§7.3: 'normal' meant std C*sqrt(scale/n) before 2.2.0 and sqrt(scale/n) after."""
    C = 0.87962566103423978
    cfg = {"class_name": "VarianceScaling",
           "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": None}}
    s = (2.0 / 100) ** 0.5
    old = kerasinit.describe(cfg, (10, 100), keras_version="2.0.8").distribution
    new = kerasinit.describe(cfg, (10, 100), keras_version="2").distribution
    k3 = kerasinit.describe(json.dumps(cfg), (10, 100), keras_version="3.14").distribution
    assert old.std == pytest.approx(s) and old.high == pytest.approx(2 * s)
    assert new.std == pytest.approx(s / C) and k3.std == pytest.approx(s / C)
    assert kerasinit.get(cfg).get_config()["distribution"] == "truncated_normal"


def test_keras3_serialized_dict_and_json_string() -> None:
    cfg = {"module": "keras.initializers", "class_name": "VarianceScaling",
           "config": {"seed": 7, "scale": 2.0, "mode": "fan_out",
                      "distribution": "truncated_normal", "input_axes": None,
                      "output_axes": None},
           "registered_name": None}
    a, b = kerasinit.get(cfg), kerasinit.get(json.dumps(cfg))
    c = kerasinit.get("  " + json.dumps(cfg) + "\n")
    assert a == b == c
    assert a.get_config() == cfg["config"]
    assert a.serialize() == cfg
    r = a.describe((6, 4, 3, 3))  # Conv2d(4, 6, 3) -> Keras (3, 3, 4, 6): fan_out = 54
    assert r.fan_out == 54.0
    assert r.distribution.std == pytest.approx((2 / 54) ** 0.5 / 0.87962566103423978)
    # extra keys Keras writes (shared_object_id) are ignored
    assert kerasinit.get({**cfg, "shared_object_id": 3}) == a


def test_keras2_legacy_forms() -> None:
    """§7.3 real example (Keras 2.0.8) and the tf_keras legacy format."""
    ki = kerasinit.get({"class_name": "VarianceScaling",
                        "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform",
                                   "seed": None}}, keras_version="2.0.8")
    assert ki.describe((5, 7)).distribution.high == pytest.approx((6 / 12) ** 0.5)
    orth = kerasinit.get({"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}})
    assert orth.get_config() == {"seed": None, "gain": 1.0}
    emb = kerasinit.get({"class_name": "RandomUniform",
                         "config": {"minval": -0.05, "maxval": 0.05, "seed": None}})
    assert emb.get_config() == DEFAULT_CONFIGS["random_uniform"]
    assert kerasinit.get({"class_name": "Zeros", "config": {}}).name == "zeros"
    assert kerasinit.get({"class_name": "GlorotUniform"}).name == "glorot_uniform"  # no config


@pytest.mark.parametrize("cls,config", [
    ("GlorotUniform", {"seed": None, "dtype": "float32"}),
    ("Zeros", {"dtype": "float32"}),
])
def test_tf1_stray_dtype_loads_with_warning(cls: str, config: dict[str, Any]) -> None:
    """§7.4: Keras 3 fails, tf_keras pops the key; kerasinit loads and warns."""
    with pytest.warns(UserWarning, match="dtype"):
        init = kerasinit.get({"class_name": cls, "config": config}, keras_version="2.2.4-tf")
    assert init.name == {"GlorotUniform": "glorot_uniform", "Zeros": "zeros"}[cls]
    assert "dtype" not in init.get_config()


def test_numpy_valued_constant_forms() -> None:
    arr = np.array([[1.0, 2.0], [3.0, 4.0]])
    keras3 = {"module": "keras.initializers", "class_name": "Constant",
              "config": {"value": {"class_name": "__numpy__",
                                   "config": {"value": arr.tolist(), "dtype": "float64"}}},
              "registered_name": None}
    direct = kerasinit.get({"class_name": "Constant", "config": {"value": arr}})
    nested = kerasinit.get(keras3)
    assert direct == nested
    assert nested.get_config() == {"value": [[1.0, 2.0], [3.0, 4.0]]}
    scalar = kerasinit.get({"class_name": "Constant", "config": {"value": np.float32(2.5)}})
    assert scalar.get_config() == {"value": 2.5}
    w = torch.empty(2, 2)
    nested(w, layout="keras")
    assert w.tolist() == [[1.0, 2.0], [3.0, 4.0]]


class GlorotUniform:
    """A stand-in Keras object with no Keras installed (duck typing: class name + get_config)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "input_axes": None, "output_axes": None}


class Identity:
    def __init__(self, gain: float) -> None:
        self.gain = gain

    def get_config(self) -> dict[str, Any]:
        return {}  # like Keras 3: the gain is not in the config


def test_duck_typed_object_without_keras() -> None:
    init = kerasinit.get(GlorotUniform(seed=5))
    assert init.name == "glorot_uniform" and init.spec.seed == 5
    assert init.keras_version == kerasinit.get("he_normal").keras_version  # Keras 3 default
    assert kerasinit.get(GlorotUniform).get_config() == DEFAULT_CONFIGS["glorot_uniform"]
    assert kerasinit.get(Identity(2.5)).get_config() == {"gain": 2.5}


def test_initializer_passthrough_keeps_spec_and_version() -> None:
    init = kerasinit.get("he_normal", keras_version="3.14", seed=3)
    again = kerasinit.get(init)
    assert again == init and again.keras_version == init.keras_version
    other = kerasinit.get(init, keras_version="2")
    assert other.spec == init.spec and str(other.keras_version) == "2"
    reseeded = kerasinit.get(init, seed=9)
    assert reseeded.spec.seed == 9 and reseeded.name == "he_normal"


@pytest.mark.parametrize("version,expect", [
    ("3", (3, None)), ("3.14", (3, 14)), ("2", (2, None)), ("2.0.8", (2, 0)), ("1", (1, None)),
    ("2.2.4-tf", (2, 2)), (None, (3, None)),
])
def test_keras_version_variants(version: str | None, expect: tuple[int, int | None]) -> None:
    v = kerasinit.get("glorot_uniform", keras_version=version).keras_version
    assert (v.major, v.minor) == expect


def test_keras_version_changes_mha_fans_only_from_3_15() -> None:
    """§3.1: MHA query kernel (64, 4, 32) limit 0.1768 in 3.15 and 0.0510 in tf_keras."""
    layout = kerasinit.layouts.MHAProjection(4)
    limits = {v: kerasinit.describe("glorot_uniform", (128, 64), layout=layout,
                                    keras_version=v).distribution.high
              for v in ("3", "3.15", "3.14", "2")}
    assert limits["3"] == limits["3.15"] == pytest.approx((6 / (64 + 128)) ** 0.5)
    assert limits["3.14"] == limits["2"] == pytest.approx((6 / (64 * 4 + 32 * 64)) ** 0.5)
    assert round(limits["3"], 4) == 0.1768 and round(limits["2"], 4) == 0.0510


ROUND_TRIP = [
    "he_normal", "orthogonal", "identity", "zeros", "ones", "stft",
    {"class_name": "VarianceScaling", "config": {"scale": 3.0, "mode": "fan_avg",
                                                 "distribution": "untruncated_normal", "seed": 4}},
    {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5, "seed": 2}},
    {"class_name": "TruncatedNormal", "config": {"mean": -1.0, "stddev": 0.1}},
    {"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 2.0, "seed": 0}},
    {"class_name": "Orthogonal", "config": {"gain": 1.5, "seed": 11}},
    {"class_name": "Identity", "config": {"gain": 2.0}},
    {"class_name": "Constant", "config": {"value": [[1.0], [2.0]]}},
    {"class_name": "Constant", "config": {"value": 3.0}},
    {"class_name": "STFT", "config": {"side": "imag", "window": [0.5, 1.0, 0.5],
                                      "scaling": None, "periodic": True}},
    {"class_name": "HeUniform", "config": {"seed": 3, "input_axes": [0], "output_axes": [1, 2]}},
    {"class_name": "RandomNormal", "config": {"seed": {
        "module": "keras.random", "class_name": "SeedGenerator",
        "config": {"seed": 7, "name": "seed_generator"}, "registered_name": None}}},
]


@pytest.mark.parametrize("identifier", ROUND_TRIP, ids=lambda x: str(x)[:40])
def test_round_trip_serialize(identifier: object) -> None:
    init = kerasinit.get(identifier)
    ser = init.serialize()
    assert set(ser) == {"module", "class_name", "config", "registered_name"}
    assert ser["module"] == "keras.initializers" and ser["registered_name"] is None
    assert kerasinit.get(ser) == init
    assert kerasinit.get(json.dumps(ser)) == init


# -- live Keras ------------------------------------------------------------------------------
def _keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _keras_objects(ki: Any) -> list[Any]:
    return [
        ki.GlorotUniform(seed=1), ki.GlorotNormal(), ki.HeUniform(seed=0), ki.HeNormal(seed=5),
        ki.LecunUniform(), ki.LecunNormal(seed=2),
        ki.VarianceScaling(2.0, "fan_out", "normal", seed=1),
        ki.VarianceScaling(0.5, "fan_avg", "untruncated_normal"),
        ki.RandomNormal(mean=1.0, stddev=0.2, seed=3), ki.RandomUniform(-1.0, 2.0),
        ki.TruncatedNormal(stddev=0.02, seed=9), ki.Orthogonal(gain=1.5, seed=4),
        ki.Constant(3.0), ki.Zeros(), ki.Ones(),
        ki.STFT(side="imag", window="hamming", scaling="spectrum", periodic=True),
    ]


@pytest.mark.tf
def test_live_keras3_objects_get_config_matches_keras() -> None:
    keras = _keras()
    ki = keras.initializers
    for obj in _keras_objects(ki):
        init = kerasinit.get(obj)
        assert init.class_name == type(obj).__name__
        assert init.get_config() == obj.get_config(), type(obj).__name__
        assert init.serialize() == ki.serialize(obj)
        assert str(init.keras_version) == "3"
        # Keras reads kerasinit's serialization back to the same config
        assert ki.deserialize(init.serialize()).get_config() == obj.get_config()
        assert kerasinit.get(ki.serialize(obj)) == init
    # Keras 3 Identity.get_config() is {} (gain lost, §5.2); kerasinit reads the object's gain
    ident = ki.Identity(gain=2.0)
    assert ident.get_config() == {}
    assert kerasinit.get(ident).get_config() == {"gain": 2.0}
    # the Keras 3.0-3.6 class name still deserializes in Keras 3.15 and in kerasinit
    old = {"module": "keras.initializers", "class_name": "OrthogonalInitializer",
           "config": {"seed": None, "gain": 1.0}, "registered_name": None}
    assert type(ki.deserialize(old)).__name__ == "Orthogonal"
    assert kerasinit.get(old).name == "orthogonal"


@pytest.mark.tf
def test_live_keras3_seed_generator_and_numpy_constant() -> None:
    keras = _keras()
    ki = keras.initializers
    obj = ki.RandomNormal(seed=keras.random.SeedGenerator(7))
    init = kerasinit.get(obj)
    assert init.spec.seed == 7 and init.spec.advancing_seed
    assert init.get_config()["seed"]["config"]["seed"] == 7
    const = ki.Constant(np.array([1.0, 2.0]))
    assert kerasinit.get(const).get_config() == {"value": [1.0, 2.0]}
    assert kerasinit.get(ki.serialize(const)) == kerasinit.get(const)


@pytest.mark.tf
def test_live_keras3_accepts_every_keras3_key_and_kerasinit_agrees() -> None:
    keras = _keras()
    for key, canonical in KERAS3_KEYS.items():
        if key in ("Constant", "constant"):
            continue  # Keras 3 raises KeyError: 'value' for these strings (§1.1)
        obj = keras.initializers.get(key)
        assert type(obj).__name__ == CLASS[canonical], key
        assert kerasinit.get(key).name == canonical


@pytest.mark.tf
def test_live_tf_keras_objects_default_to_keras2() -> None:
    _keras()
    tfk = pytest.importorskip("tf_keras")
    ki = tfk.initializers
    objs = [ki.GlorotUniform(seed=1), ki.HeNormal(), ki.VarianceScaling(2.0, "fan_out", seed=3),
            ki.RandomNormal(stddev=0.2, seed=3), ki.TruncatedNormal(), ki.RandomUniform(),
            ki.Orthogonal(gain=2.0), ki.Identity(gain=3.0), ki.Constant(2.0), ki.Zeros(),
            ki.Ones(), ki.LecunNormal(), ki.LecunUniform(), ki.HeUniform(), ki.GlorotNormal()]
    for obj in objs:
        init = kerasinit.get(obj)
        assert init.keras_version.major == 2, type(obj).__name__
        tf_cfg = obj.get_config()
        ours = init.get_config()
        # tf_keras has no input_axes/output_axes (§2.1); everything else is equal
        assert {k: ours[k] for k in tf_cfg} == tf_cfg, type(obj).__name__
        assert set(ours) - set(tf_cfg) <= {"input_axes", "output_axes"}
        if "input_axes" in ours and "input_axes" not in tf_cfg:
            assert ours["input_axes"] is None and ours["output_axes"] is None
    # an explicit keras_version wins over the object's default
    assert kerasinit.get(ki.HeNormal(), keras_version="3").keras_version.major == 3
    # tf_keras serialized dicts (new and legacy format) load too
    ser = ki.serialize(ki.VarianceScaling(2.0, "fan_out", seed=3))
    assert kerasinit.get(ser).get_config()["mode"] == "fan_out"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stray-key warning for a clean config
        legacy = ki.serialize(ki.GlorotUniform(seed=2), use_legacy_format=True)
        assert kerasinit.get(legacy).spec.seed == 2
