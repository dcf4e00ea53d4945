"""Property tests (hypothesis): layouts and fans over random torch shapes of rank 0-5.

For every layout that accepts a shape:

* ``Initializer.describe`` reports the fans of the Keras rank rule applied to
  ``layout.keras_shape(shape)``, with the rule written out here (reference §3.1): rank 0 ->
  (1, 1); rank 1 -> (n, n); rank 2 -> (s0, s1); rank >= 3 -> R = prod(s[:-2]),
  (s[-2]·R, s[-1]·R). For the MHA layouts under Keras >= 3.15 the einsum axes apply instead:
  projection (E_in, h, d) -> (E_in, h·d), output (h, d, E_out) -> (h·d, E_out).
* the Keras shape of the simple layouts equals the one written by hand (layer-map §10);
* ``layout.to_torch(layout.to_keras(t), shape)`` returns ``t`` exactly, and ``to_keras`` is a
  permutation of the elements with the Keras shape.

Derandomized with a fixed number of examples and no database, so the run is deterministic.
"""

from __future__ import annotations

import math
from typing import Any

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings

import kerasinit
from kerasinit import layouts
from kerasinit.bridge.layouts import Layout, parse_layout

SETTINGS = settings(max_examples=250, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

shapes = st.lists(st.integers(0, 7), min_size=0, max_size=5).map(tuple)
layout_strategy = st.one_of(
    st.sampled_from(["torch", "keras", "embedding", "gru", "linear", "conv", "lstm"]),
    st.builds(layouts.Depthwise, st.integers(1, 3)),
    st.builds(layouts.MHAProjection, st.integers(1, 3)),
    st.builds(layouts.MHAOutput, st.integers(1, 3)),
)


def keras_rule(k: tuple[int, ...]) -> tuple[float, float]:
    if len(k) == 0:
        return 1.0, 1.0
    if len(k) == 1:
        return float(k[0]), float(k[0])
    if len(k) == 2:
        return float(k[0]), float(k[1])
    rf = math.prod(k[:-2])
    return float(k[-2] * rf), float(k[-1] * rf)


def hand_keras_shape(layout: Layout, s: tuple[int, ...]) -> tuple[int, ...] | None:
    """Layer-map §10 by hand, for the layouts with a closed-form shape map."""
    if layout.name in ("torch",):
        return s if len(s) < 2 else (*s[2:], s[1], s[0])
    if layout.name in ("keras", "embedding"):
        return s
    if isinstance(layout, layouts.Depthwise):
        m = layout.depth_multiplier
        return (*s[2:], s[0] // m, m)
    if isinstance(layout, layouts.MHAProjection):
        return (s[1], layout.num_heads, s[0] // layout.num_heads)
    if isinstance(layout, layouts.MHAOutput):
        return (layout.num_heads, s[1] // layout.num_heads, s[0])
    if layout.name == "gru":
        return s if len(s) == 1 else (s[1], s[0])
    return None


def try_keras_shape(layout: Layout, shape: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return layout.keras_shape(shape)
    except kerasinit.LayoutError:
        assume(False)
        raise  # pragma: no cover


@SETTINGS
@given(shape=shapes, layout=layout_strategy, version=st.sampled_from(["3", "3.14", "2"]))
def test_describe_fans_follow_the_keras_rule(shape: tuple[int, ...], layout: Any,
                                             version: str) -> None:
    lay = parse_layout(layout)
    kshape = try_keras_shape(lay, shape)
    assert kshape == hand_keras_shape(lay, shape)
    r = kerasinit.get("lecun_uniform", keras_version=version).describe(shape, layout=lay)
    assert not isinstance(r, tuple)
    assert r.keras_shape == kshape
    if version == "3" and isinstance(lay, layouts.MHAProjection):
        expected = (float(kshape[0]), float(kshape[1] * kshape[2]))
    elif version == "3" and isinstance(lay, layouts.MHAOutput):
        expected = (float(kshape[0] * kshape[1]), float(kshape[2]))
    else:
        expected = keras_rule(kshape)
    assert (r.fan_in, r.fan_out) == expected
    limit = math.sqrt(3.0 / max(1.0, expected[0]))
    assert r.distribution.high == pytest.approx(limit, rel=1e-12)
    # fans do not depend on the initializer family
    o = kerasinit.get("glorot_normal", keras_version=version).describe(shape, layout=lay)
    assert (o.fan_in, o.fan_out) == expected  # type: ignore[union-attr]


@SETTINGS
@given(shape=shapes, layout=layout_strategy)
def test_layout_round_trip_is_exact(shape: tuple[int, ...], layout: Any) -> None:
    lay = parse_layout(layout)
    kshape = try_keras_shape(lay, shape)
    t = torch.arange(math.prod(shape), dtype=torch.float64).reshape(shape)
    k = lay.to_keras(t)
    assert tuple(k.shape) == kshape
    assert torch.equal(k.flatten().sort().values, t.flatten())  # a permutation
    back = lay.to_torch(k, shape)
    assert tuple(back.shape) == shape and torch.equal(back, t)


@SETTINGS
@given(shape=st.tuples(st.integers(1, 4), st.integers(0, 6)).map(lambda x: (3 * x[0] * 2, x[1])),
       heads=st.integers(1, 2), version=st.sampled_from(["3", "3.14"]))
def test_packed_blocks_each_get_their_own_fans(shape: tuple[int, int], heads: int,
                                               version: str) -> None:
    rows, cols = shape
    block = rows // 3
    res = kerasinit.describe("glorot_uniform", shape, layout=layouts.mha_in_proj(heads),
                             keras_version=version)
    assert isinstance(res, tuple) and len(res) == 3
    kshape = (cols, heads, block // heads)
    for r in res:
        assert r.keras_shape == kshape
        if version == "3":
            assert (r.fan_in, r.fan_out) == (float(cols), float(block))
        else:
            assert (r.fan_in, r.fan_out) == keras_rule(kshape)
