"""Keras 3.16 (nightly) configs, checked in: new layer TernaryDense, Identity's saved gain."""

from __future__ import annotations

from pathlib import Path

import torch

from kerasinit import porting

DATA = Path(__file__).resolve().parents[1] / "data" / "porting"


def test_ternary_dense_plans_as_dense_and_identity_keeps_its_gain() -> None:
    plan = porting.read(DATA / "keras3_16_ternary_dense.json")
    rows = [(r.layer, r.weight, r.initializer.name) for r in plan.rows]
    assert rows == [("ternary_dense", "kernel", "glorot_uniform"),
                    ("ternary_dense", "bias", "zeros"),
                    ("head", "kernel", "identity"), ("head", "bias", "zeros")]
    assert [r.keras_shape for r in plan.rows][:2] == [(8, 4), (4,)]
    # Keras 3.16 saves Identity's gain (3.15.1 saved {} and lost it)
    head = next(r for r in plan.rows if r.layer == "head" and r.weight == "kernel")
    assert head.initializer.get_config() == {"gain": 2.0}
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Linear(4, 2))
    plan.apply(model)
    assert torch.equal(model[1].weight, 2.0 * torch.eye(2, 4))
    assert float(model[0].weight.abs().max()) <= (6 / 12) ** 0.5
