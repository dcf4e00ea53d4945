"""The Literal types in the signatures list exactly the values the code accepts."""

from __future__ import annotations

from typing import get_args

import torch

import kerasinit
from kerasinit.bridge import layouts
from kerasinit.bridge.initializer import RNGS, RngName
from kerasinit.mappings.specs import PRESETS, DistributionName, Mode


def test_layout_names_literal_matches_parser() -> None:
    assert set(get_args(layouts.LayoutName)) == set(layouts._NAMED)


def test_rng_literal_matches_runtime_choices() -> None:
    assert set(get_args(RngName)) == set(RNGS)


def test_mode_and_distribution_literals_cover_the_presets() -> None:
    assert {m for _, m, _ in PRESETS.values()} <= set(get_args(Mode))
    assert {d for _, _, d in PRESETS.values()} <= set(get_args(DistributionName))


def test_rng_none_means_the_default() -> None:
    a = kerasinit.get("he_normal", seed=3, rng=None)
    assert a.rng == "torch" and a == kerasinit.get("he_normal", seed=3)
    w1, w2 = torch.empty(5, 4), torch.empty(5, 4)
    a(w1, rng=None)
    kerasinit.get("he_normal", seed=3)(w2)
    assert torch.equal(w1, w2)
