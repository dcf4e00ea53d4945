"""Layout constructors refuse bad arguments with a LayoutError naming value and choices.

``GRU(5)`` or ``Embedding("x")`` used to bind the value to the dataclass's ``name`` field
silently (a layout whose name lies about it); ``MHABias(-1)`` gave negative fans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kerasinit import KerasInitError, layouts
from kerasinit.mappings.errors import LayoutError
from kerasinit.modules.params import MHABias

L: Any = layouts

BAD: list[tuple[Callable[[], object], str]] = [
    (lambda: L.GRU(5), r"GRU takes no arguments .*'gru'.*Received: name=5"),
    (lambda: L.Embedding("x"), r"Embedding takes no arguments.*Received: name='x'"),
    (lambda: L.TorchLayout("keras"), r"TorchLayout takes no arguments.*name='keras'"),
    (lambda: L.KerasLayout(None), r"KerasLayout takes no arguments.*name=None"),
    (lambda: L.Depthwise(2, "d"), r"Depthwise takes only depth_multiplier"),
    (lambda: L.MHAProjection(2, 3), r"MHAProjection takes only num_heads.*name=3"),
    (lambda: L.MHAOutput(1, name="o"), r"MHAOutput takes only num_heads"),
    (lambda: L.Packed((L.MHAProjection(2),), name=3), r"Packed: `name` must be a label"),
    (lambda: L.Packed((L.MHAProjection(2),), name="a b"), r"Received: 'a b'"),
    (lambda: MHABias(-1), r"num_heads must be an int >= 1. Received: -1"),
    (lambda: MHABias(2, "b"), r"MHABias takes only num_heads"),
]


@pytest.mark.parametrize(("make", "match"), BAD)
def test_bad_layout_arguments_are_refused(make: Callable[[], object], match: str) -> None:
    with pytest.raises(LayoutError, match=match) as info:
        make()
    assert isinstance(info.value, KerasInitError)


def test_good_layouts_still_build() -> None:
    assert L.GRU().name == "gru" and L.GRU(name="gru") == L.GRU()
    assert L.Embedding().name == "embedding"
    assert L.Depthwise(3).depth_multiplier == 3
    assert L.mha_in_proj(4).name == "mha_in_proj"
    assert MHABias(2).num_heads == 2
