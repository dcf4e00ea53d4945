"""The built-in parity matrix is complete and its 3.14 handling is justified (no TensorFlow)."""

from __future__ import annotations

import math

from kerasinit.mappings.table import ROWS
from kerasinit.parity import cases


def test_matrix_covers_every_initializer_family_and_version() -> None:
    m = cases.matrix()
    names = {c.id.split("/")[0] for c in m}
    assert names == set(ROWS)
    families = {c.family for c in m}
    assert families == set(cases.FAMILIES)
    assert {c.keras_version for c in m} == {"3", "3.14", "2"}
    assert not [c for c in m if c.id.startswith("stft/") and c.keras_version == "2"]  # no STFT
    assert len({c.id for c in m}) == len(m)


def test_314_runs_exactly_where_it_resolves_differently() -> None:
    """3.14 cases exist only for MHA kernels under variance-scaling initializers (not the
    fan_in ones on the output kernel (h, d, E): fan_in = h·d under both rules); everywhere else
    kerasinit resolves 3.14 and 3.15 to the same distribution, so the 3.15 case covers it."""
    m = cases.matrix()
    extra = {c.id for c in m if c.keras_version == "3.14"}
    vs = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
          "lecun_normal", "variance_scaling"}
    fan_avg_or_out = {"glorot_uniform", "glorot_normal", "variance_scaling"}
    assert extra == ({f"{n}/mha_query/3.14" for n in vs}
                     | {f"{n}/mha_output/3.14" for n in fan_avg_or_out})
    for c in m:
        if c.keras_version == "3":
            assert cases.same_as_latest(c.reference, c.shape, c.layout) == (
                f"{c.id[:-2]}/3.14" not in extra)


def test_quick_and_mutants() -> None:
    quick = cases.quick()
    assert len(quick) == len(cases._QUICK)  # every quick id exists in the matrix
    assert {c.keras_version for c in quick} == {"3", "3.14", "2"}
    muts = cases.mutants()
    assert len(muts) == 7 and all(c.expect_fail and c.candidate is not None for c in muts)
    assert cases.select(quick, "mha_query") and all("mha_query" in c.id
                                                    for c in cases.select(quick, "mha_query"))
    assert [c.id for c in cases.select(quick, "he_normal/*/3")] == [
        "he_normal/dense/3", "he_normal/conv2d_transpose/3"]


def test_family_sizes_reach_the_sample_size() -> None:
    """Every family but the scalar and the bias reaches 2^17 values in <= 60 draws."""
    for family, (shape, _) in cases.FAMILIES.items():
        if family not in ("scalar", "bias", "stft_conv1d"):  # STFT is deterministic: 1 draw
            assert math.ceil((1 << 17) / math.prod(shape)) <= 60, family
