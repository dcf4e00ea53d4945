"""rng="keras-torch" vs Keras 3 with ``KERAS_BACKEND=torch`` (in a subprocess).

The subprocess builds seeded Keras initializers on the torch backend (CPU) and saves their
float32 kernels; kerasinit's replay of Keras's torch calls must match them bit for bit
(Orthogonal included: both run ``torch.linalg.qr`` in float32 with the same thread count).
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
from kerasinit.bridge.rng.keras_torch import torch_seed

pytestmark = pytest.mark.tf
pytest.importorskip("keras")

FAMILIES = [
    ("GlorotUniform", {}), ("HeNormal", {}), ("RandomNormal", {"mean": 0.1, "stddev": 0.3}),
    ("RandomUniform", {"minval": -0.2, "maxval": 0.7}),
    ("TruncatedNormal", {"mean": 0.5, "stddev": 2.0}), ("Orthogonal", {"gain": 1.5}),
    ("VarianceScaling", {"scale": 1.3, "mode": "fan_out", "distribution": "untruncated_normal"}),
]
SEEDS = [0, 42, 2**31 + 5, 2**32 + 42, -1]
SHAPES = [(5, 3), (3, 3, 4, 6), (33, 17)]

_SCRIPT = """
import json, sys, numpy as np, torch, keras
torch.set_num_threads(1)
families, seeds, shapes = json.loads(sys.argv[1])
out = {}
for i, (cls, cfg) in enumerate(families):
    for s in seeds:
        for shape in shapes:
            init = getattr(keras.initializers, cls)(seed=s, **cfg)
            v = init(tuple(shape), dtype="float32")
            out[f"{i}|{s}|{'x'.join(map(str, shape))}"] = keras.ops.convert_to_numpy(v)
np.savez(sys.argv[2], **out)
print(keras.backend.backend())
"""


@pytest.fixture(scope="module")
def keras_torch_values(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("kt") / "values.npz"
    env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps([FAMILIES, SEEDS, SHAPES]), str(out)],
        env=env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent,
    )
    if proc.returncode != 0 or "torch" not in proc.stdout:
        pytest.skip(f"Keras torch backend unavailable: {proc.stderr[-500:]}")
    return dict(np.load(out))


@pytest.mark.parametrize("family", range(len(FAMILIES)))
def test_matches_keras_torch_backend(
    family: int, keras_torch_values: dict[str, np.ndarray]
) -> None:
    cls, config = FAMILIES[family]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for seed in SEEDS:
        init = kerasinit.get({"class_name": cls, "config": dict(config)}, seed=seed,
                             rng="keras-torch")
        for shape in SHAPES:
            expected = torch.from_numpy(keras_torch_values[f"{family}|{seed}|"
                                                           f"{'x'.join(map(str, shape))}"])
            got = init(torch.empty(shape), layout="keras")
            assert torch.equal(got, expected), (cls, seed, shape)
    torch.set_num_threads(threads)


def test_seed_wraps_mod_2_32() -> None:
    assert torch_seed(42) == torch_seed(2**32 + 42) == 42
    assert torch_seed(-1) == 2**32 - 1
    assert torch_seed(5, call_index=2) == 7


def test_keras_torch_needs_keras3() -> None:
    init = kerasinit.get("glorot_uniform", seed=1, rng="keras-torch", keras_version="2")
    with pytest.raises(kerasinit.KerasInitError, match="torch backend"):
        init(torch.empty(3, 4))


_SEED_GENERATOR_SCRIPT = """
import json, sys, numpy as np, keras
out = {}
for s in json.loads(sys.argv[1]):
    try:
        init = keras.initializers.RandomNormal(seed=keras.random.SeedGenerator(s))
        out[str(s)] = [keras.ops.convert_to_numpy(init((3, 4))).tolist() for _ in range(2)]
    except Exception as exc:  # Keras's own refusal
        out[str(s)] = type(exc).__name__
print(json.dumps(out))
"""
SEED_GENERATOR_SEEDS = [5, 2**31 - 1, -(2**31), 2**31, 2**32 - 1, 2**32 + 5, -(2**31) - 1]


def test_seed_generator_seeds_match_or_are_refused_as_keras_torch_does() -> None:
    """Keras 3.15.1's torch backend keeps a SeedGenerator's ``[seed, 0]`` in an int32 variable
    without the int seeds' bit-cast: it raises outside int32, so rng="keras-torch" refuses
    those (tensor untouched) and matches Keras's two successive draws inside."""
    env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", _SEED_GENERATOR_SCRIPT,
                           json.dumps(SEED_GENERATOR_SEEDS)], env=env, capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).parent)
    if proc.returncode != 0:
        pytest.skip(f"Keras torch backend unavailable: {proc.stderr[-500:]}")
    keras_out = json.loads(proc.stdout.strip().splitlines()[-1])
    refused = {s for s in SEED_GENERATOR_SEEDS if isinstance(keras_out[str(s)], str)}
    assert refused == {2**31, 2**32 - 1, 2**32 + 5, -(2**31) - 1}  # Keras 3.15.1's behaviour
    for s in SEED_GENERATOR_SEEDS:
        init = kerasinit.get({"class_name": "RandomNormal", "config": {"seed": {
            "class_name": "SeedGenerator", "config": {"seed": s}}}}, rng="keras-torch")
        w = torch.full((4, 3), 7.0)
        if s in refused:
            with pytest.raises(kerasinit.KerasInitError, match="SeedGenerator seed outside int32"):
                init(w)
            assert torch.equal(w, torch.full((4, 3), 7.0))
            continue
        for expected in keras_out[str(s)]:  # the generator advances per call, as Keras's does
            assert torch.equal(init(w).t(), torch.tensor(expected, dtype=torch.float32)), s
