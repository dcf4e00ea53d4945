"""Table-driven completeness: every name Keras registers is mapped, aliased or refused.

The registries come from the installed Keras 3 (``keras.src.initializers.ALL_OBJECTS_DICT``)
and tf_keras (``tf_keras.src.initializers.LOCAL.ALL_OBJECTS``) when they are installed, and
from the checked-in ``tests/data/keras_registry.json`` otherwise (regenerate it with
``python scripts/make_registry_list.py``). A new Keras release that registers a new name makes
these tests fail instead of slipping through.
"""

from __future__ import annotations

import json
import math
import os
import pathlib

import pytest
import torch

import kerasinit
from kerasinit.mappings import (
    Constant,
    Identity,
    Normal,
    Orthogonal,
    TruncatedNormal,
    Uniform,
    UnsupportedInitializerError,
    canonical_name,
)
from kerasinit.mappings.distributions import STFT
from kerasinit.mappings.specs import CLASS_NAMES
from kerasinit.mappings.table import ALIASES, REFUSED, ROWS, TORCH_SYNONYMS, all_names

DATA = pathlib.Path(__file__).parents[1] / "data" / "keras_registry.json"
CHECKED_IN = json.loads(DATA.read_text(encoding="utf-8"))
K3_KEYS: dict[str, str] = CHECKED_IN["keras"]["keys"]
TFK_KEYS: dict[str, str] = CHECKED_IN["tf_keras"]["keys"]
ABSTRACT = "Initializer"  # the abstract base class both registries carry
#: names kerasinit accepts that no *current* registry holds, with where they come from
HISTORICAL = {"orthogonal_initializer": "Keras 3.0-3.6 snake case of OrthogonalInitializer"}


CASES = [("keras", k, c) for k, c in K3_KEYS.items()] + [
    ("tf_keras", k, c) for k, c in TFK_KEYS.items()]


def test_checked_in_registry_sizes_match_the_reference() -> None:
    """The reference (keras-initializers.md §1.1/§1.2) counts 41 Keras 3.15 and 57 tf_keras keys."""
    assert CHECKED_IN["keras"]["version"] == "3.15.1"
    assert CHECKED_IN["tf_keras"]["version"] == "2.21.0"
    assert len(K3_KEYS) == 41
    assert len(TFK_KEYS) == 57
    assert not any(k.endswith("V2") for k in K3_KEYS)
    assert sum(k.endswith("V2") for k in TFK_KEYS) == 21
    assert {"STFT", "stft", "STFTInitializer", "IdentityInitializer",
            "OrthogonalInitializer"}.isdisjoint(TFK_KEYS)


@pytest.mark.parametrize(("registry", "key", "cls"), CASES, ids=[f"{r}:{k}" for r, k, _ in CASES])
def test_every_registered_key_is_mapped_aliased_or_refused(
    registry: str, key: str, cls: str
) -> None:
    version = "3" if registry == "keras" else "2"
    if cls == ABSTRACT:
        assert key in REFUSED and REFUSED[key].strip(), f"{key} must be refused with a reason"
        with pytest.raises(UnsupportedInitializerError) as info:
            kerasinit.get(key, keras_version=version)
        assert str(info.value).startswith(
            f"Keras initializer {key!r} cannot be used: {REFUSED[key]}. Valid names: ")
        return
    names = all_names()
    assert key in names, f"{registry} key {key!r} is neither a row nor an alias"
    canonical = canonical_name(key)
    # the name resolves to the same class Keras resolves it to
    assert CLASS_NAMES[canonical] == cls, (key, canonical, cls)
    if key in ROWS:
        assert canonical == key
    else:
        assert ALIASES[key].target == canonical and ALIASES[key].reason.strip()
    init = kerasinit.get(key, keras_version=version)
    assert init.class_name == cls
    assert init.name == canonical


def test_no_invented_names() -> None:
    """Every accepted name is in a Keras registry (or in the documented history list)."""
    registered = set(K3_KEYS) | set(TFK_KEYS)
    accepted = set(all_names()) | set(REFUSED)
    extra = accepted - registered - set(HISTORICAL)
    assert extra == set(), f"names no Keras registers: {sorted(extra)}"
    # and every registered name is accepted or refused (the reverse direction, in one line)
    assert registered - accepted == set()


def test_rows_cover_every_concrete_keras_class() -> None:
    classes = (set(K3_KEYS.values()) | set(TFK_KEYS.values())) - {ABSTRACT}
    assert {ROWS[name].class_name for name in ROWS} == classes
    assert len(ROWS) == 16


def test_torch_synonyms_are_never_accepted() -> None:
    """Torch names only feed the did-you-mean; ``get('xavier_uniform')`` must still fail."""
    for name, (target, why) in TORCH_SYNONYMS.items():
        assert target in ROWS and why
        assert name not in all_names()
        with pytest.raises(kerasinit.UnknownInitializerError):
            kerasinit.get(name)


@pytest.mark.parametrize("key", ["STFT", "stft", "STFTInitializer"])
@pytest.mark.parametrize("version", ["2", "2.0.8", "1", "3.6"])
def test_stft_does_not_exist_before_keras_3_7(key: str, version: str) -> None:
    with pytest.raises(UnsupportedInitializerError) as info:
        kerasinit.get(key, keras_version=version)
    assert str(info.value) == (
        f"STFT exists only from Keras 3.7; keras_version={version!r} has no STFT initializer.")
    assert kerasinit.get(key, keras_version="3.7").name == "stft"


# -- every row resolves to the family the reference states (keras-initializers.md §11) ----------
C = 0.87962566103423978
FI, FO = 784.0, 256.0  # nn.Linear(784, 256).weight, torch shape (256, 784)
FAMILY: dict[str, tuple[type, dict[str, float]]] = {
    "glorot_uniform": (Uniform, {"high": math.sqrt(6 / (FI + FO))}),
    "glorot_normal": (TruncatedNormal, {"std": math.sqrt(2 / (FI + FO)) / C}),
    "he_uniform": (Uniform, {"high": math.sqrt(6 / FI)}),
    "he_normal": (TruncatedNormal, {"std": math.sqrt(2 / FI) / C}),
    "lecun_uniform": (Uniform, {"high": math.sqrt(3 / FI)}),
    "lecun_normal": (TruncatedNormal, {"std": math.sqrt(1 / FI) / C}),
    "variance_scaling": (TruncatedNormal, {"std": math.sqrt(1 / FI) / C}),
    "random_normal": (Normal, {"mean": 0.0, "std": 0.05}),
    "random_uniform": (Uniform, {"low": -0.05, "high": 0.05}),
    "truncated_normal": (TruncatedNormal, {"std": 0.05, "low": -0.1, "high": 0.1}),
    "orthogonal": (Orthogonal, {"gain": 1.0}),
    "identity": (Identity, {"gain": 1.0}),
    "zeros": (Constant, {"value": 0.0}),
    "ones": (Constant, {"value": 1.0}),
    "constant": (Constant, {"value": 0.0}),
}


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_each_row_resolves_to_the_reference_distribution(name: str) -> None:
    family, params = FAMILY[name]
    r = kerasinit.describe(name, (256, 784))
    assert isinstance(r, kerasinit.Resolved)
    assert type(r.distribution) is family
    assert (r.fan_in, r.fan_out) == (FI, FO)
    assert r.keras_shape == (784, 256)
    for attr, value in params.items():
        assert getattr(r.distribution, attr) == pytest.approx(value, rel=1e-12, abs=0.0), attr
    if family is TruncatedNormal:
        d = r.distribution
        assert (d.low, d.high) == pytest.approx((-2 * d.std, 2 * d.std), rel=1e-15)
    if family is Uniform and name != "random_uniform":
        assert r.distribution.low == -r.distribution.high


def test_stft_row_resolves_on_the_conv1d_layout() -> None:
    r = kerasinit.describe("stft", (9, 1, 16))  # nn.Conv1d(1, 9, 16).weight
    assert isinstance(r.distribution, STFT) and r.keras_shape == (16, 1, 9)


def test_row_filled_values_match_the_family() -> None:
    """One fill per row on a Linear weight: cheap end-to-end smoke of the table."""
    g = torch.Generator().manual_seed(0)
    for name in ROWS:
        w = torch.full((9, 1, 16) if name == "stft" else (256, 784), float("nan"))
        kerasinit.get(name)(w, generator=g)
        assert torch.isfinite(w).all(), name


@pytest.mark.tf
def test_checked_in_registry_matches_the_installed_packages() -> None:
    """Walks the live registries; fails when the JSON is stale (regenerate it)."""
    pytest.importorskip("tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from keras.src import initializers as k3
    from tf_keras.src import initializers as tfk

    tfk.populate_deserializable_objects()
    live_k3 = {k: c.__name__ for k, c in k3.ALL_OBJECTS_DICT.items()}
    live_tfk = {k: c.__name__ for k, c in tfk.LOCAL.ALL_OBJECTS.items()}
    assert live_k3 == K3_KEYS
    assert live_tfk == TFK_KEYS


@pytest.mark.tf
def test_live_tf_keras_get_resolves_every_key_to_our_class() -> None:
    """``tf_keras.initializers.get(key)`` on every registry key gives the class we map to."""
    pytest.importorskip("tensorflow")
    import tf_keras
    from tf_keras.src import initializers as tfk

    tfk.populate_deserializable_objects()
    for key in sorted(tfk.LOCAL.ALL_OBJECTS):
        obj = tf_keras.initializers.get(key)
        cls = type(obj).__name__
        if cls == ABSTRACT:
            assert key in REFUSED
            continue
        assert CLASS_NAMES[canonical_name(key)] == cls, key
        # the duck-typed object itself is accepted and means the same initializer
        assert kerasinit.get(obj, keras_version="2").name == canonical_name(key)
