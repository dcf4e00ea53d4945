"""The one shape check (kerasinit/mappings/shapecheck.py) and its callers."""

from __future__ import annotations

import pathlib

import pytest
import torch

import kerasinit
from kerasinit import layouts
from kerasinit.mappings.errors import LayoutError
from kerasinit.mappings.shapecheck import check_shape

ROOT = pathlib.Path(__file__).resolve().parents[2] / "kerasinit"


def test_rules() -> None:
    assert check_shape([4, 1, 3], "x", min_rank=3, divisible=(0, 2), dims={1: 1}) == (4, 1, 3)
    for shape, rule in [((4, 2, 3), {"dims": {1: 1}}), ((3, 1, 3), {"divisible": (0, 2)}),
                        ((4,), {"min_rank": 2}), ((4, 4, 4), {"rank": (1, 2)}),
                        ((4,), {"divisible": (0, 0)}), ((4,), {"dims": {3: 1}})]:
        with pytest.raises(LayoutError, match=r"^Expected\. Received shape \("):
            check_shape(shape, "Expected.", **rule)  # type: ignore[arg-type]
    with pytest.raises(LayoutError, match=r"Received Keras shape \(3,\)\.$"):
        check_shape((3,), "Expected.", rank=2, label="Keras shape")


def test_callers_raise_through_it() -> None:
    w = torch.empty(5, 4)
    with pytest.raises(LayoutError, match=r"divisible by num_heads=2\. Received shape \(5, 4\)\.$"):
        kerasinit.get("glorot_uniform")(w, layout=layouts.mha_in_proj(2).parts[0])
    with pytest.raises(LayoutError, match=r"Orthogonal needs a kernel of rank >= 2"):
        kerasinit.describe("orthogonal", (5,))
    with pytest.raises(LayoutError, match=r"^The 'gru' layout expects"):
        kerasinit.describe("zeros", (5,), layout="gru")


def test_no_other_shape_rule_messages() -> None:
    """Shape-rule errors are written in one place: no module but shapecheck.py builds a
    "Received shape" / "Received Keras shape" message itself."""
    found = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
             if p.name != "shapecheck.py" and any(
                 s in p.read_text(encoding="utf-8")
                 for s in ("Received shape {", "Received Keras shape {"))]
    assert found == []
