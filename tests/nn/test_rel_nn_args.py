"""Every kerasinit.nn constructor refuses bad torch-side arguments before construction.

Table-driven over every class in ``kerasinit.nn``: each bad value raises a
``LayerArgumentError`` (a ``KerasInitError``) naming the argument and the value, and torch's
global RNG is untouched; good values build the same parameter shapes as the torch class.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from kerasinit import KerasInitError
from kerasinit import nn as knn

#: class -> (valid positional args, {name: [bad values]}); names are keyword arguments.
SIZE_BAD = [-1, 3.5, "4", None, True, [4]]
KERNEL_BAD = [0, -1, (3,) * 4, 2.0, "3", (3, 0)]
FLAG_BAD = ["yes", None, 2]
COMMON_BAD: dict[str, list[Any]] = {
    "dtype": [torch.int64, torch.complex64, "float32", float],
    "device": ["bogus", 3.5, object()],
    "generator": [5, "g", np.random.default_rng(0)],
}
CONV = {"in_channels": SIZE_BAD, "out_channels": SIZE_BAD, "kernel_size": KERNEL_BAD,
        "stride": [0, -2, (1, 1, 1, 1), 1.5], "padding": [-1, "foo", (1, -1, 1, 1), 0.5],
        "dilation": [0, (0, 1, 1, 1)], "bias": FLAG_BAD, "padding_mode": ["x", None, 0]}
TABLE: dict[type[nn.Module], tuple[tuple[Any, ...], dict[str, list[Any]]]] = {
    knn.Linear: ((4, 3), {"in_features": SIZE_BAD, "out_features": SIZE_BAD, "bias": FLAG_BAD}),
    knn.Embedding: ((5, 3), {"num_embeddings": SIZE_BAD, "embedding_dim": SIZE_BAD,
                             "padding_idx": [5, -6, 1.0], "max_norm": [-1.0, "2", float("nan")],
                             "norm_type": ["2"], "sparse": FLAG_BAD,
                             "_weight": [torch.zeros(4, 3), [[0.0] * 3] * 5]}),
    knn.PReLU: ((3,), {"num_parameters": SIZE_BAD, "init": ["a", [0.25], True]}),
    **{cls: ((4, 8, 3), {**CONV, "groups": [0, -1, 3, 1.0]}) for cls in
       (knn.Conv1d, knn.Conv2d, knn.Conv3d)},
    **{cls: ((4, 8, 3), {**CONV, "groups": [0, 3], "padding": [-1, "same", "valid"],
                         "output_padding": [1, -1, (0, 0, 0, 0)],
                         "padding_mode": ["reflect", "x"]}) for cls in
       (knn.ConvTranspose1d, knn.ConvTranspose2d, knn.ConvTranspose3d)},
    **{cls: ((4, 3), {"in_channels": [0, *SIZE_BAD], "kernel_size": KERNEL_BAD,
                      "depth_multiplier": [0, -1, 1.5], "stride": [0], "bias": FLAG_BAD})
       for cls in (knn.DepthwiseConv1d, knn.DepthwiseConv2d)},
    **{cls: ((4, 8, 3), {"in_channels": [0, *SIZE_BAD], "out_channels": SIZE_BAD,
                         "kernel_size": KERNEL_BAD, "depth_multiplier": [0, 2.0],
                         "padding": [-1, "bad"], "padding_mode": ["x"], "bias": FLAG_BAD})
       for cls in (knn.SeparableConv1d, knn.SeparableConv2d)},
    **{cls: ((4,), {"num_features": SIZE_BAD, "eps": [-1e-5, "1e-5", float("nan"), float("inf")],
                    "momentum": [-0.1, 1.5, "0.1"], "affine": FLAG_BAD,
                    "track_running_stats": FLAG_BAD})
       for cls in (knn.BatchNorm1d, knn.BatchNorm2d, knn.BatchNorm3d)},
    knn.LayerNorm: ((4,), {"normalized_shape": [-3, "a", (2, -1), (1,) * 65, 2.0],
                           "eps": [-1.0], "elementwise_affine": FLAG_BAD, "bias": FLAG_BAD}),
    knn.GroupNorm: ((2, 4), {"num_groups": [0, 3, -1, 2.0], "num_channels": [-4, 5, "4"],
                             "eps": [-1.0], "affine": FLAG_BAD}),
    **{cls: ((4, 8), {"input_size": [0, *SIZE_BAD], "hidden_size": [0, *SIZE_BAD],
                      "num_layers": [0, -1, 1.5], "dropout": [-0.1, 1.5, "0.1", True],
                      "bias": FLAG_BAD, "batch_first": FLAG_BAD, "bidirectional": FLAG_BAD})
       for cls in (knn.RNN, knn.GRU)},
    knn.LSTM: ((4, 8), {"input_size": [0, -4], "hidden_size": [0, 2.0], "num_layers": [0],
                        "dropout": [2, -1], "proj_size": [8, 9, -1, 1.5],
                        "bidirectional": FLAG_BAD}),
    knn.MultiheadAttention: ((8, 2), {"embed_dim": [0, -8, 8.0], "num_heads": [0, 3, "2"],
                                      "dropout": [3, -0.5, "0"], "kdim": [0, -1, 2.5],
                                      "vdim": [0, "4"], "add_bias_kv": FLAG_BAD,
                                      "batch_first": FLAG_BAD}),
}
CASES = [(cls, name, bad) for cls, (_, bads) in TABLE.items()
         for name, values in {**bads, **COMMON_BAD}.items() for bad in values]
RNN_EXTRA = [(knn.RNN, "nonlinearity", "sigmoid"), (knn.RNN, "nonlinearity", None)]


def test_the_table_covers_every_class() -> None:
    classes = {getattr(knn, n) for n in knn.__all__ if n != "LayerArgumentError"}
    assert classes == set(TABLE)


@pytest.mark.parametrize(("cls", "name", "bad"), CASES + RNN_EXTRA,
                         ids=lambda v: getattr(v, "__name__", None) or repr(v)[:20])
def test_bad_argument_is_a_layer_argument_error_before_anything(cls: type, name: str,
                                                                 bad: Any) -> None:
    names = list(inspect.signature(cls.__init__).parameters)[1:]
    kwargs = {**dict(zip(names, TABLE[cls][0], strict=False)), name: bad}
    state = torch.get_rng_state()
    with pytest.raises(knn.LayerArgumentError) as info:
        cls(**kwargs)
    message = str(info.value)
    assert isinstance(info.value, KerasInitError) and isinstance(info.value, ValueError)
    assert cls.__name__ in message and f"`{name}`" in message, message
    shown = repr(bad) if not isinstance(bad, torch.Tensor) else "shape"
    assert shown[:30] in message, message
    assert torch.equal(state, torch.get_rng_state())


GOOD: list[tuple[type, type, tuple[Any, ...], dict[str, Any]]] = [
    (knn.Linear, nn.Linear, (np.int64(4), 3), {"bias": np.bool_(False)}),
    (knn.Conv2d, nn.Conv2d, (4, 8, (3, 1)), {"padding": "same", "groups": 2}),
    (knn.Conv1d, nn.Conv1d, (4, 8, 3), {"padding": [1], "stride": (2,)}),
    (knn.ConvTranspose2d, nn.ConvTranspose2d, (4, 8, 3), {"stride": 2, "output_padding": 1}),
    (knn.ConvTranspose3d, nn.ConvTranspose3d, (4, 8, 3), {"dilation": (1, 1, 2),
                                                         "output_padding": (0, 0, 1)}),
    (knn.Embedding, nn.Embedding, (5, 3), {"padding_idx": -1}),
    (knn.LayerNorm, nn.LayerNorm, ((2, 3),), {"bias": False}),
    (knn.LayerNorm, nn.LayerNorm, (torch.Size([4]),), {}),
    (knn.GroupNorm, nn.GroupNorm, (2, 4), {}),
    (knn.BatchNorm1d, nn.BatchNorm1d, (0,), {"momentum": None}),
    (knn.LSTM, nn.LSTM, (4, 8), {"proj_size": 3, "num_layers": 2, "dropout": 0.5}),
    (knn.MultiheadAttention, nn.MultiheadAttention, (8, 2), {"kdim": 3, "vdim": 5}),
    (knn.PReLU, nn.PReLU, (3,), {"init": 1}),
    (knn.Linear, nn.Linear, (4, 3), {"device": "meta", "dtype": torch.float64}),
]


@pytest.mark.parametrize(("cls", "base", "args", "kwargs"), GOOD,
                         ids=lambda v: getattr(v, "__name__", None) or repr(v)[:20])
def test_good_arguments_build_what_torch_builds(cls: type, base: type, args: tuple[Any, ...],
                                                kwargs: dict[str, Any]) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = cls(*args, seed=1, **kwargs), base(*args, **kwargs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert {k: v.dtype for k, v in ours.state_dict().items()} == \
        {k: v.dtype for k, v in theirs.state_dict().items()}


_VALUES = st.one_of(st.integers(-3, 9), st.sampled_from([0.5, 2.0, -1.0, float("nan"), "same",
                                                         "valid", "zeros", "x", None, True,
                                                         False, (1, 2), (2, 2, 2), (0, 1)]))
#: knn class -> the torch class taking the same arguments (depthwise and separable convs
#: derive theirs, so only their own outcome is checked)
_TORCH_BASES: dict[type, type | None] = {
    cls: None if "Depthwise" in cls.__name__ or "Separable" in cls.__name__ else
    next(b for b in cls.__mro__ if b.__module__.startswith("torch.nn.")) for cls in TABLE}


@settings(max_examples=80, deadline=None, derandomize=True)
@given(data=st.data())
def test_fuzzed_arguments_build_or_raise_a_layer_argument_error(data: Any) -> None:
    """Random argument values: a knn layer is built or refused with a ``KerasInitError``
    (global RNG untouched), and whatever torch's own constructor refuses, knn refuses too."""
    import warnings

    cls = data.draw(st.sampled_from(sorted(_TORCH_BASES, key=lambda c: c.__name__)))
    names = list(inspect.signature(cls.__init__).parameters)[1:]
    base = dict(zip(names, TABLE[cls][0], strict=False))
    keys = [n for n in names if n in TABLE[cls][1] or n in base]
    override = data.draw(st.dictionaries(st.sampled_from(keys), _VALUES, max_size=3))
    kwargs = {**base, **override}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_ok = True
        try:
            base_cls = _TORCH_BASES[cls]
            if base_cls is not None:
                base_cls(**kwargs)
        except Exception:
            torch_ok = False
        state = torch.get_rng_state()
        try:
            cls(**kwargs, seed=3)
        except KerasInitError:
            assert torch.equal(state, torch.get_rng_state())
            return
    assert torch_ok, f"{cls.__name__}({kwargs}) built though torch refuses it"
