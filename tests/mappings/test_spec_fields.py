"""Spec fields are declared once: the config keys parse accepts are the spec classes' fields.

Also checks that the one dispatch over spec classes (``mappings.resolve``) and over
distributions (``bridge.samplers``) covers every class.
"""

from __future__ import annotations

import importlib
import typing

import pytest

from kerasinit.bridge import samplers
from kerasinit.mappings import distributions
from kerasinit.mappings.errors import InitializerArgumentError
from kerasinit.mappings.parse import _CONFIG_KEYS, SPEC_TYPES, spec_from_config
from kerasinit.mappings.specs import PRESETS, SPEC_CLASSES, Spec, config_keys
from kerasinit.mappings.table import ROWS
from kerasinit.mappings.versions import parse_version

#: the table parse.py wrote by hand before the keys were derived from the dataclass fields
WRITTEN_BEFORE: dict[str, tuple[str, ...]] = {
    **{name: ("seed", "input_axes", "output_axes") for name in PRESETS},
    "variance_scaling": ("scale", "mode", "distribution", "seed", "input_axes", "output_axes"),
    "random_normal": ("mean", "stddev", "seed"),
    "truncated_normal": ("mean", "stddev", "seed"),
    "random_uniform": ("minval", "maxval", "seed"),
    "orthogonal": ("gain", "seed"),
    "identity": ("gain",),
    "constant": ("value",),
    "zeros": (),
    "ones": (),
    "stft": ("side", "window", "scaling", "periodic"),
}


def test_config_keys_are_the_spec_fields() -> None:
    assert set(SPEC_CLASSES) == set(ROWS) == set(WRITTEN_BEFORE)
    for name, keys in WRITTEN_BEFORE.items():
        assert set(config_keys(name)) == set(keys) == set(_CONFIG_KEYS[name]), name
    assert set(SPEC_TYPES) == set(typing.get_args(Spec))


def test_internal_fields_are_not_config_keys() -> None:
    with pytest.raises(InitializerArgumentError, match="Unexpected config key 'advancing_seed'"):
        spec_from_config({"class_name": "HeNormal", "config": {"advancing_seed": True}},
                         parse_version("3"))
    with pytest.raises(InitializerArgumentError, match="Valid keys: 'mean', 'seed', 'stddev'"):
        spec_from_config({"class_name": "RandomNormal", "config": {"std": 1.0}},
                         parse_version("3"))


def test_one_dispatch_covers_every_class() -> None:
    resolve = importlib.import_module("kerasinit.mappings.resolve")  # the module, not the function
    assert set(resolve._RESOLVERS) == set(typing.get_args(Spec))
    assert set(samplers._SAMPLERS) == set(typing.get_args(distributions.Distribution))
    structured = {c for c, (_, build) in samplers._SAMPLERS.items() if build is not None}
    assert structured == {distributions.Orthogonal, distributions.Identity,
                          distributions.Constant, distributions.STFT}
