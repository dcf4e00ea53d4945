"""Regressions from the adversarial sweep over porting and the command line."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from kerasinit import KerasInitError
from kerasinit.cli import main
from kerasinit.porting import read

DENSE = {"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
    {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}


def _model() -> nn.Module:
    model = nn.Sequential()
    model.add_module("d", nn.Linear(4, 3))
    return model


@pytest.mark.parametrize("seed", [2**32, 2**64, -1])
def test_keras_seed_outside_set_random_seeds_range_is_refused(seed: int) -> None:
    """``keras.utils.set_random_seed`` refuses seeds outside [0, 2**32 - 1] (NumPy's range)."""
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    state = torch.get_rng_state()
    with pytest.raises(KerasInitError, match=r"\[0, 2\*\*32 - 1\]"):
        read(DENSE).apply(model, rng="tensorflow", keras_seed=seed)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert torch.equal(state, torch.get_rng_state())


def test_apply_names_an_unknown_rng_before_the_seed_rule() -> None:
    model = _model()
    with pytest.raises(KerasInitError, match=r"Unknown rng 'x'\. Valid: 'jax'"):
        read(DENSE).apply(model, rng="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [
    {"keras_model": None}, {"torch_model": "x"}, {"inputs": "x"}, {"inputs": np.array(["a"])}, {"inputs": [np.zeros(2), "x"]},
    {"tolerance": -1}, {"tolerance": "a"}, {"tolerance": float("nan")}, {"plan": "x"},
])
def test_verify_checks_its_arguments_first(kwargs: dict[str, Any]) -> None:
    pytest.importorskip("keras")
    from kerasinit.porting import verify

    class FakeKeras:  # looks like a model to the check; never run
        layers: tuple[Any, ...] = ()
        inputs: tuple[Any, ...] = ()

    args = {"keras_model": FakeKeras(), "torch_model": _model(),
            "inputs": np.zeros((1, 4), np.float32), **kwargs}
    with pytest.raises(KerasInitError) as info:
        verify(**args)
    assert "verify" in str(info.value)


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return code, out.getvalue() + err.getvalue()


def test_cli_argument_errors_exit_non_zero_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(DENSE))
    cases = [
        (["inspect", str(path), "--keras-seed", str(2**70)], 1, "2**32 - 1"),
        (["inspect", str(path), "--keras-seed", "-1"], 1, "2**32 - 1"),
        (["inspect", str(path), "--rebuilt"], 2, "--keras-seed"),
        (["parity", "--alpha", "2"], 2, "(0, 1)"),
        (["parity", "--samples", "-5"], 2, "--samples"),
        (["parity", "--calibrate", "-1"], 2, "--calibrate"),
        (["parity", "--seed", "-1"], 2, "--seed"),
        (["table", "--format", "x"], 2, "invalid choice"),
        (["port", str(path), "--torch", "x:y", "--batch", "0"], 2, "--batch"),
        (["port", str(path), "--torch", "torch.nn:Identity"], 1, "neither a .keras archive"),
    ]
    for argv, code, text in cases:
        got, output = _cli(*argv)
        assert (got, "Traceback" in output) == (code, False), (argv, got, output)
        assert text in output, (argv, output)


@pytest.mark.parametrize(("call", "match"), [
    (lambda plan: plan.layer(5), "a str"),
    (lambda plan: plan.replay(1, seeds=5), "seeds must be a dict"),
    (lambda plan: plan.replay(1, seeds={1: 2}), "seeds must be a dict"),
    (lambda plan: plan.replay(1, order=5), "order must be"),
    (lambda plan: plan.drop(5), "layer/weight"),
])
def test_plan_methods_refuse_wrong_argument_types(call: Any, match: str) -> None:
    with pytest.raises(KerasInitError, match=match):
        call(read(DENSE))
