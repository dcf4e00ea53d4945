"""Property-based tests (hypothesis): no undocumented exception, and failures write nothing.

For random identifiers (valid and invalid names, configs with random and out-of-range
arguments), random shapes of rank 0-5, every layout name and random explicit fans, a call either
succeeds or raises ``kerasinit.KerasInitError``; when it raises, the tensor is bit-identical to
its sentinel fill and torch's global RNG state is unchanged. ``max_examples`` is fixed and the
database is off, so the run is deterministic (``derandomize=True``).
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import torch
from hypothesis import HealthCheck, given, settings

import kerasinit
from kerasinit import layouts
from kerasinit.mappings.table import ALIASES, ROWS

NAMES = sorted(ROWS) + sorted(ALIASES)[:20] + ["he_normall", "xavier_uniform", "", "Initializer"]
SETTINGS = settings(max_examples=300, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(st.floats(-3, 3, allow_nan=False), st.integers(-2, 5), st.just(float("nan")),
                    st.text(max_size=3))
configs = st.fixed_dictionaries(
    {"class_name": st.sampled_from(["VarianceScaling", "RandomNormal", "RandomUniform",
                                    "TruncatedNormal", "Orthogonal", "Identity", "Constant",
                                    "GlorotUniform", "HeNormal", "NoSuchInit"])},
    optional={"config": st.dictionaries(
        st.sampled_from(["scale", "mode", "distribution", "seed", "mean", "stddev", "minval",
                         "maxval", "gain", "value", "dtype", "bogus"]),
        st.one_of(numbers, st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_sum",
                                            "normal", "uniform", "truncated_normal",
                                            "untruncated_normal", "gaussian"])),
        max_size=4)},
)
identifiers = st.one_of(st.sampled_from(NAMES), configs)
layout_choices = st.one_of(
    st.sampled_from(["torch", "keras", "embedding", "gru", "conv", "tourch"]),
    st.builds(layouts.Depthwise, st.integers(1, 3)),
    st.builds(layouts.MHAProjection, st.integers(1, 3)),
    st.builds(layouts.MHAOutput, st.integers(1, 3)),
    st.builds(layouts.mha_in_proj, st.integers(1, 3)),
)
shapes = st.lists(st.integers(0, 6), min_size=0, max_size=5).map(tuple)
fans = st.one_of(st.none(), st.tuples(st.floats(-2, 50, allow_nan=False),
                                      st.floats(-2, 50, allow_nan=False)))
dtypes = st.sampled_from([torch.float32, torch.float16, torch.bfloat16, torch.float64,
                          torch.int32, torch.bool])


@SETTINGS
@given(identifier=identifiers, shape=shapes, layout=layout_choices, fan=fans, dtype=dtypes,
       version=st.sampled_from([None, "3", "3.14", "2", "2.0.8", "1", "9"]))
def test_call_succeeds_or_raises_keras_init_error_without_writing(
    identifier: Any, shape: tuple[int, ...], layout: Any, fan: Any, dtype: torch.dtype,
    version: str | None,
) -> None:
    sentinel = torch.full(shape, 7, dtype=dtype)
    tensor = sentinel.clone()
    rng_state = torch.get_rng_state()
    try:
        init = kerasinit.get(identifier, keras_version=version)
        out = init(tensor, layout=layout, fans=fan)
    except kerasinit.KerasInitError:
        assert torch.equal(tensor, sentinel)
        assert torch.equal(torch.get_rng_state(), rng_state)
        return
    assert out is tensor
    assert tensor.shape == sentinel.shape and tensor.dtype == dtype
    if tensor.is_floating_point() and "nan" not in repr(identifier):
        assert not torch.isnan(tensor).any()  # NaN parameters give NaN values, as in Keras
