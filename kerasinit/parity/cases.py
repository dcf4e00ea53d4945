"""The built-in parity matrix: initializers × layer families × Keras versions, and mutants.

* :func:`matrix` -- every initializer of :data:`kerasinit.mappings.table.ROWS` on every layer
  family of :data:`FAMILIES` for Keras "3" (3.15) and "2" (tf_keras), plus "3.14" wherever its
  resolved distribution differs from 3.15 (the EinsumDense/MHA kernels under variance-scaling
  initializers). Where 3.14 resolves to the same distribution as 3.15, the 3.15 case covers it:
  the TF samples would be identical (the installed Keras is 3.15), and
  :func:`same_as_latest` is the check that the resolution really is identical.
  Initializers a version does not have (``stft`` in tf_keras) are left out.
* :func:`quick` -- a fast subset that still covers every distribution family, every layout
  class and the three versions.
* :func:`mutants` -- deliberately wrong mappings; every one must be detected.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from typing import Any

import torch

from kerasinit.bridge.initializer import describe, get
from kerasinit.bridge.layouts import Depthwise, LayoutLike, MHAOutput, MHAProjection
from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.table import ROWS
from kerasinit.parity.engine import Case

__all__ = ["FAMILIES", "INITIALIZERS", "VERSIONS", "matrix", "mutants", "quick", "same_as_latest",
           "select"]

C = 0.87962566103423978

#: family -> (torch shape, layout). Sizes keep the fans distinct (in != out) and n reachable.
FAMILIES: dict[str, tuple[tuple[int, ...], LayoutLike]] = {
    "dense": ((256, 784), "torch"),
    "conv1d": ((128, 64, 5), "torch"),
    "conv2d": ((128, 64, 3, 3), "torch"),
    "conv3d": ((32, 16, 3, 3, 3), "torch"),
    "conv2d_grouped4": ((128, 16, 3, 3), "torch"),
    "conv2d_transpose": ((128, 64, 4, 4), "torch"),
    "depthwise2d_m1": ((256, 1, 3, 3), Depthwise(1)),
    "depthwise2d_m4": ((1024, 1, 3, 3), Depthwise(4)),
    "separable_depthwise_m2": ((128, 1, 5, 5), Depthwise(2)),
    "separable_pointwise": ((128, 256, 1, 1), "torch"),
    "embedding": ((4096, 32), "embedding"),
    "simple_rnn_kernel": ((128, 64), "torch"),
    "simple_rnn_recurrent": ((128, 128), "torch"),
    "lstm_kernel": ((512, 64), "torch"),
    "lstm_recurrent": ((512, 128), "torch"),
    "gru_kernel": ((384, 64), "gru"),
    "gru_recurrent": ((384, 128), "gru"),
    "mha_query": ((256, 256), MHAProjection(8)),
    "mha_output": ((256, 256), MHAOutput(8)),
    "bias": ((512,), "torch"),
    "stft_conv1d": ((33, 1, 64), "torch"),
    "scalar": ((), "torch"),
}

#: reference identifier per table row (non-default configs where the default hides a parameter)
INITIALIZERS: dict[str, object] = {name: name for name in ROWS}
INITIALIZERS["variance_scaling"] = {"class_name": "VarianceScaling", "config": {
    "scale": 0.5, "mode": "fan_out", "distribution": "untruncated_normal"}}
INITIALIZERS["constant"] = {"class_name": "Constant", "config": {"value": 0.3}}
INITIALIZERS["orthogonal"] = {"class_name": "Orthogonal", "config": {"gain": 1.5}}
INITIALIZERS["identity"] = {"class_name": "Identity", "config": {"gain": 2.0}}
INITIALIZERS["stft"] = "stft"

VERSIONS = ("3", "3.14", "2")
#: versions the CLI accepts that draw every case exactly as another: Keras 3.16 changed layers,
#: configs and lookups, not one initializer distribution (tested), so the "3" cases cover it.
COVERED_BY: dict[str, str] = {"3.16": "3"}
#: the STFT kernel only fits a Conv1D (frame_length, 1, bins) kernel; elsewhere refusal parity
_STFT_FAMILIES = ("stft_conv1d", "conv1d", "dense", "scalar")


def _available(ref: object, version: str) -> bool:
    try:
        get(ref, keras_version=version)
    except KerasInitError:
        return False
    return True


def same_as_latest(ref: object, shape: tuple[int, ...], layout: LayoutLike) -> bool:
    """True if Keras 3.14 and 3.15 resolve ``ref`` on this tensor to the same distribution."""
    try:
        a = describe(ref, shape, layout=layout, keras_version="3.14")
        b = describe(ref, shape, layout=layout, keras_version="3")
    except KerasInitError:
        return True  # refused by both versions alike (checked by the "3" refusal case)
    def strip(r: Any) -> tuple[Any, ...]:
        return (r.distribution, r.keras_shape)

    if isinstance(a, tuple) and isinstance(b, tuple):
        return [strip(x) for x in a] == [strip(x) for x in b]
    return not isinstance(a, tuple) and not isinstance(b, tuple) and strip(a) == strip(b)


def matrix(versions: tuple[str, ...] = VERSIONS) -> list[Case]:
    """The full matrix (see the module docstring)."""
    cases = []
    for name, ref in INITIALIZERS.items():
        for version in versions:
            if not _available(ref, version):
                continue
            for family, (shape, layout) in FAMILIES.items():
                if (name == "stft") != (family == "stft_conv1d") and (
                        name != "stft" or family not in _STFT_FAMILIES):
                    continue
                if version == "3.14" and same_as_latest(ref, shape, layout):
                    continue
                cases.append(Case(id=f"{name}/{family}/{version}", reference=ref, shape=shape,
                                  layout=layout, keras_version=version, family=family))
    return cases


_QUICK = (
    "he_normal/dense/3", "he_normal/lstm_kernel/2", "glorot_uniform/depthwise2d_m4/3",
    "he_uniform/depthwise2d_m1/2", "lecun_normal/embedding/3", "glorot_uniform/mha_query/3",
    "glorot_uniform/mha_query/3.14", "glorot_normal/mha_output/2",
    "truncated_normal/conv2d/3", "random_uniform/bias/2", "random_normal/scalar/3",
    "variance_scaling/conv1d/2", "he_normal/conv2d_transpose/3", "lecun_uniform/conv2d_grouped4/3",
    "glorot_uniform/separable_pointwise/2", "glorot_normal/conv3d/3",
    "orthogonal/lstm_recurrent/3", "orthogonal/gru_recurrent/2", "orthogonal/depthwise2d_m1/3",
    "identity/gru_kernel/3", "identity/conv2d/2", "zeros/bias/3", "ones/scalar/2",
    "constant/conv3d/3", "stft/stft_conv1d/3", "stft/conv1d/3", "he_uniform/separable_depthwise_m2/3",
)


def quick() -> list[Case]:
    """The quick subset (``kerasinit parity --quick``)."""
    by_id = {c.id: c for c in matrix()}
    return [by_id[i] for i in _QUICK if i in by_id]


def select(cases: list[Case], pattern: str | None) -> list[Case]:
    """Cases whose id matches the glob ``pattern`` (substring match if it has no wildcard)."""
    if not pattern:
        return cases
    if not any(ch in pattern for ch in "*?["):
        return [c for c in cases if pattern in c.id]
    return [c for c in cases if fnmatch.fnmatch(c.id, pattern)]


# -- mutants: deliberately wrong mappings that the battery must detect -------------------------
def _mutant(mid: str, ref: object, family: str, fill: Callable[[torch.Tensor], Any],
            label: str, version: str = "3") -> Case:
    shape, layout = FAMILIES[family]
    return Case(id=f"mutant:{mid}", reference=ref, shape=shape, layout=layout,
                keras_version=version, candidate=fill, candidate_label=label, expect_fail=True,
                family=family)


def _untruncated_he(t: torch.Tensor) -> None:
    torch.nn.init.kaiming_normal_(t, nonlinearity="relu")


def _abs_trunc(t: torch.Tensor) -> None:
    torch.nn.init.trunc_normal_(t, std=0.05)  # Keras TruncatedNormal(0.05): cut at ±0.1


def _torch_fans_depthwise(t: torch.Tensor) -> None:
    get("he_uniform")(t, layout="torch")


def _swapped(t: torch.Tensor) -> None:
    fan_in, fan_out = 784.0, 256.0  # Dense(256) on 784 inputs
    get("he_normal")(t, fans=(fan_out, fan_in))


def _scale2(t: torch.Tensor) -> None:
    get("glorot_uniform")(t)
    t.mul_(1.02)


def _no_c(t: torch.Tensor) -> None:
    s = math.sqrt(2.0 / (784 + 256))  # the realised std used as σ: no 1/0.8796
    torch.nn.init.trunc_normal_(t, 0.0, s, -2 * s, 2 * s)


def _per_gate(t: torch.Tensor) -> None:
    with torch.no_grad():
        for block in t.chunk(4, dim=0):
            torch.nn.init.orthogonal_(block)


def mutants() -> list[Case]:
    """The planted wrong mappings of issue 4; each must fail."""
    return [
        _mutant("untruncated_he_normal", "he_normal", "dense", _untruncated_he,
                "kaiming_normal_(relu) (untruncated)"),
        _mutant("absolute_trunc_normal", "truncated_normal", "dense", _abs_trunc,
                "trunc_normal_(std=0.05) (absolute ±2 bounds)"),
        _mutant("torch_fans_depthwise", "he_uniform", "depthwise2d_m1", _torch_fans_depthwise,
                "he_uniform with torch fans on a depthwise kernel"),
        _mutant("fans_swapped", "he_normal", "dense", _swapped, "he_normal, fan_in/fan_out swapped"),
        _mutant("scale_2_percent", "glorot_uniform", "dense", _scale2, "glorot_uniform × 1.02"),
        _mutant("missing_0.8796", "glorot_normal", "dense", _no_c,
                "glorot_normal without the 1/0.8796 factor"),
        _mutant("per_gate_orthogonal_lstm", "orthogonal", "lstm_recurrent", _per_gate,
                "orthogonal_ per LSTM gate block"),
    ]
