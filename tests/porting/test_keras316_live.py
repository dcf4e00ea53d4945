"""Live Keras 3.16 (nightly) against kerasinit's ``keras_version="3.16"`` semantics.

Skips unless the importable ``keras`` is 3.16 or newer (CI installs the 3.15 release). To run
it: ``pip install --target DIR --no-deps keras-nightly`` and ``PYTHONPATH=DIR pytest
tests/porting/test_keras316_live.py`` (TensorFlow backend; Keras's own dependencies are those of
the installed Keras 3.15). Last run on keras-nightly 3.16.0.dev2026102704: all pass.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re

import pytest

import kerasinit
from kerasinit import porting
from kerasinit.mappings.errors import UnknownInitializerError
from kerasinit.porting.layerdefs import RefusedConfigError


def _keras_version() -> str | None:
    """The importable Keras's version, read from its source without importing it."""
    spec = importlib.util.find_spec("keras")
    if spec is None or spec.origin is None:
        return None
    path = pathlib.Path(spec.origin).parent / "src" / "version.py"
    match = re.search(r'__version__ = "([^"]+)"', path.read_text(encoding="utf-8")) \
        if path.exists() else None
    return match.group(1) if match else None


VERSION = _keras_version()
_MINOR = tuple(int(p) for p in VERSION.split(".")[:2]) if VERSION else (0, 0)
pytestmark = [pytest.mark.tf, pytest.mark.skipif(
    _MINOR < (3, 16), reason=f"needs Keras >= 3.16 (the nightly); importable: {VERSION}")]
REGISTRY = json.loads((pathlib.Path(__file__).parents[1] / "data" / "keras_registry.json")
                      .read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def keras():  # type: ignore[no-untyped-def]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def test_live_model_weights_match_the_316_plan(keras) -> None:  # type: ignore[no-untyped-def]
    inp = keras.Input((5, 7))
    h = keras.layers.LayerNormalization(axis=[1, -1], name="ln_pair")(inp)
    h = keras.layers.LayerNormalization(axis=[-1, 1], name="ln_rev")(h)
    h = keras.layers.RMSNormalization(axis=[-1, 1], name="rms")(h)
    h = keras.layers.BatchNormalization(momentum=1.0, name="bn")(h)
    h = keras.layers.TernaryDense(4, name="ternary")(h)
    h = keras.layers.Dense(4, kernel_initializer=keras.initializers.Identity(gain=3.0),
                           name="eye")(h)
    model = keras.Model(inp, h)
    live = {w.path: tuple(w.shape) for w in model.weights}
    plan = porting.read(model.to_json(), keras_version="3.16")
    planned = {f"{r.layer}/{r.weight}": r.keras_shape for r in plan.rows}
    assert planned == live
    eye = next(r for r in plan.rows if r.layer == "eye" and r.weight == "kernel")
    assert eye.initializer.get_config() == {"gain": 3.0} and eye.note == ""
    # read from the live model too (no keras_version given: the file form implies 3.16)
    assert str(porting.read(model.to_json()).keras_version) == "3.16"


def test_live_identity_config_and_kerasinit_agree(keras) -> None:  # type: ignore[no-untyped-def]
    obj = keras.initializers.Identity(gain=2.0)
    assert obj.get_config() == {"gain": 2.0}
    assert kerasinit.get(obj.get_config(), class_name="Identity",
                         keras_version="3.16").get_config() == {"gain": 2.0}


@pytest.mark.parametrize("axis", [[2, -1], [1, 1]])
def test_live_duplicate_axes_refused_by_both(keras, axis: list[int]) -> None:  # type: ignore[no-untyped-def]
    layer = keras.layers.LayerNormalization(axis=axis)
    with pytest.raises(ValueError, match="Duplicate axes"):
        layer.build((None, 5, 7))
    config = {"class_name": "Sequential", "module": "keras", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 5, 7]}},
        {"class_name": "LayerNormalization", "config": {"name": "ln", "axis": axis}}]}}
    with pytest.raises(RefusedConfigError):
        porting.read(config, keras_version="3.16")


def test_live_momentum_refused_by_both(keras) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="momentum"):
        keras.layers.BatchNormalization(momentum=1.5)
    config = {"class_name": "Sequential", "module": "keras", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 3]}},
        {"class_name": "BatchNormalization", "config": {"name": "bn", "momentum": 1.5}}]}}
    with pytest.raises(RefusedConfigError):
        porting.read(config, keras_version="3.16")


def test_live_custom_string_lookup_refused_by_both(keras) -> None:  # type: ignore[no-untyped-def]
    class MyInit(keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):  # type: ignore[no-untyped-def]
            return keras.ops.zeros(shape)

    with keras.saving.custom_object_scope({"MyInit": MyInit}):
        with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
            keras.initializers.get("MyInit")
        assert isinstance(keras.initializers.get({"class_name": "MyInit", "config": {}}), MyInit)
    with pytest.raises(UnknownInitializerError, match="Could not interpret"):
        kerasinit.get("MyInit", custom_objects={"MyInit": "zeros"}, keras_version="3.16")
    assert kerasinit.get({"class_name": "MyInit", "config": {}}, custom_objects={
        "MyInit": "zeros"}, keras_version="3.16").name == "zeros"


def test_live_registry_and_layers_match_the_checked_in_nightly(keras) -> None:  # type: ignore[no-untyped-def]
    from keras.src import initializers

    live = {k: c.__name__ for k, c in initializers.ALL_OBJECTS_DICT.items()}
    assert live == REGISTRY["keras_nightly"]["keys"]
    layers = {n for n in dir(keras.layers)
              if isinstance(getattr(keras.layers, n), type) and n[0].isupper()}
    assert set(REGISTRY["keras_nightly"]["layers"]) <= layers
