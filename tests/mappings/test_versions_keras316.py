"""Keras 3.16 in the version table: parsing, the semantics that changed, the registry's new names.

The 3.16 facts were measured on the nightly ``keras-nightly 3.16.0.dev2026102704``; the
registry section ``keras_nightly`` of ``tests/data/keras_registry.json`` was written from it by
``scripts/make_registry_list.py --nightly``.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from kerasinit.mappings import layers as layer_table
from kerasinit.mappings.table import REFUSED, all_names
from kerasinit.mappings.versions import ERAS, KerasVersion, parse_version
from kerasinit.porting.layers import FAMILIES, WEIGHTLESS

DATA = json.loads((pathlib.Path(__file__).parents[1] / "data" / "keras_registry.json")
                  .read_text(encoding="utf-8"))


@pytest.mark.parametrize(("text", "minor", "label"), [
    ("3.16", 16, "Keras 3.16 (nightly)"),
    ("3.16.0.dev2026102704", 16, "Keras 3.16.0 (nightly)"),
    ("3.17", 16, "Keras 3.16 (nightly)"),  # newer than measured: the newest measured semantics
    ("3", None, "Keras 3.15 (latest)"),
    ("3.15", 15, "Keras 3.15"),
])
def test_316_is_its_own_version_and_3_stays_315(text: str, minor: int | None, label: str) -> None:
    v = parse_version(text)
    assert (v.major, v.minor, v.label()) == (3, minor, label)


# version -> (Identity saves gain, LayerNorm axes rule, range checks, custom name by string)
SEMANTICS = {
    "3.16": (True, "canonical", True, False),
    "3.16.0.dev2026102704": (True, "canonical", True, False),
    "3": (False, "sorted", False, True),
    "3.15": (False, "sorted", False, True),
    "3.14": (False, "sorted", False, True),
    "3.0": (False, "sorted", False, True),
    "2": (True, "given", False, True),
    "2.2.4": (True, "given", False, True),
}


@pytest.mark.parametrize("text", sorted(SEMANTICS))
def test_version_semantics(text: str) -> None:
    v = parse_version(text)
    got = (v.identity_config_has_gain, v.layer_norm_axes, v.validates_ranges,
           v.custom_names_by_string)
    assert got == SEMANTICS[text]


def test_316_keeps_every_315_distribution_rule() -> None:
    """3.16 changed no fan or distribution rule: fan rule, truncation fix, einsum fans alike."""
    a, b = parse_version("3.16"), parse_version("3.15")
    for prop in ("fan_rule", "truncation_correction", "einsum_fans", "constant_arrays",
                 "has_stft", "orthogonal_default_gain", "untruncated_named_normals"):
        assert getattr(a, prop) == getattr(b, prop), prop


def test_eras_parse_in_order_and_end_with_316() -> None:
    keys = [parse_version(e.example).key for e in ERAS]
    assert keys == sorted(keys)
    assert ERAS[-1].example == "3.16" and "TernaryDense" in ERAS[-1].changes
    assert isinstance(parse_version(ERAS[-2].example), KerasVersion)


def test_nightly_registry_has_the_315_initializer_names() -> None:
    """Keras 3.16 registers exactly 3.15.1's 41 initializer keys: each is mapped (tested for the
    3.15 registry in test_table.py) and means the same under keras_version='3.16'."""
    nightly = DATA["keras_nightly"]
    assert nightly["version"].startswith("3.16.0.dev")
    assert nightly["keys"] == DATA["keras"]["keys"]
    names = all_names()
    for key in nightly["keys"]:
        assert key in names or key in REFUSED, key


def test_nightly_new_layers_are_known() -> None:
    """Every public layer class 3.16 adds is in the layer table or known weightless."""
    new = set(DATA["keras_nightly"]["layers"]) - set(DATA["keras"]["layers"])
    assert new == {"TernaryDense", "GroupedQueryAttention", "Mosaic"}
    for name in new:
        assert name in FAMILIES or name in WEIGHTLESS, name
    assert layer_table.defaults("TernaryDense") == {"kernel_initializer": "glorot_uniform",
                                                    "bias_initializer": "zeros"}
    assert layer_table.LAYERS["GroupedQueryAttention"].class_name == "GroupedQueryAttention"
