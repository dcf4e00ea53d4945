"""Regressions from the adversarial sweep over the public entry points (one case per kind).

Each refused call raises a ``KerasInitError`` naming the received value, with the tensor
bit-identical and torch's global RNG unchanged (``refused``).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import kerasinit
from kerasinit import nn as knn
from kerasinit.mappings.versions import parse_version
from tests.bridge.test_rel_boundary import refused


@pytest.mark.parametrize(("call", "match"), [
    (lambda t: kerasinit.he_normal_(t, fans=(10**400, 1)), "fans"),
    (lambda t: kerasinit.get("he_normal")(t, fans=(1, 10**400)), "fans"),
    (lambda t: kerasinit.glorot_normal_(t, gain=10**400), "gain"),
    (lambda t: kerasinit.truncated_normal_(t, mean="a"), "mean"),  # type: ignore[arg-type]
    (lambda t: kerasinit.truncated_normal_(t, stddev=None), "stddev"),  # type: ignore[arg-type]
    (lambda t: kerasinit.stft_(t, window=5), "window"),  # type: ignore[arg-type]
    (lambda t: kerasinit.get(" he_normal")(t), "surrounding spaces"),
    (lambda t: kerasinit.get("glorot_uniform\n")(t), "glorot_uniform"),
])
def test_sweep_refusals_touch_nothing(call: Any, match: str) -> None:
    t = torch.zeros(4, 3)
    error = refused(lambda: call(t), t, match)
    assert "Received" in str(error) or "Unknown" in str(error)


@pytest.mark.parametrize("version", [(3, -1), (3, True), (-3,)])
def test_version_tuples_need_non_negative_ints(version: Any) -> None:
    with pytest.raises(kerasinit.UnsupportedVersionError):
        parse_version(version)


@pytest.mark.parametrize("bad", [5, ["kernel_initializer"], "he_normal"])
def test_reset_parameters_with_a_mangled_config_is_a_clean_error(bad: Any) -> None:
    layer = knn.Linear(4, 3, seed=1)
    before = layer.weight.detach().clone()
    layer.keras_initializers = bad
    refused(layer.reset_parameters, layer.weight, "keras_initializers")
    assert torch.equal(layer.weight.detach(), before)


def test_module_level_helpers_name_bad_arguments() -> None:
    from kerasinit import modules

    with pytest.raises(kerasinit.LayoutError, match=r"Unknown Keras layer 'Dence'\. Did you"):
        modules.keras_defaults("Dence")
    for bad in ("x", None, torch.zeros(2)):
        with pytest.raises(kerasinit.LayoutError, match=r"needs a torch\.nn\.Module"):
            modules.module_params(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"case": 5}, "Case objects"), ({"n": 0}, "n must be"), ({"alpha": 1.5}, "alpha must be"),
    ({"seed": -1}, "seed must be"),
])
def test_parity_runs_refuse_bad_arguments_before_running(kwargs: dict[str, Any],
                                                         match: str) -> None:
    from kerasinit import parity

    args = {"n": 1000, "alpha": 1e-3, "seed": 0, **kwargs}
    case = args.pop("case", parity.quick()[0])
    with pytest.raises(kerasinit.KerasInitError, match=match):
        parity.run_case(case, **args)
    with pytest.raises(kerasinit.KerasInitError, match=match):
        parity.run_matrix([case], **args)
