"""Bad input raises a KerasInitError (a ValueError) before any tensor is modified.

Each case snapshots every parameter and buffer, makes the bad call, and asserts the error type,
its message, and that every tensor is bit-for-bit unchanged (and the global RNG untouched).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import nn as knn
from kerasinit.modules.apply import ModuleKeywordError


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.Conv2d(4, 8, 3, groups=4), nn.LSTM(16, 8),
                         nn.BatchNorm1d(16), nn.Embedding(10, 4))


def _snapshot(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


BAD_CALLS: list[tuple[str, dict[str, object], type[Exception], str]] = [
    ("typo keyword", {"kernel_initialiser": "he_normal"}, ModuleKeywordError,
     "Unknown Keras initializer keyword 'kernel_initialiser'. Did you mean 'kernel_initializer'?"),
    ("keyword for no weight", {"kernel_initializer": "he_normal", "alpha_initializer": "zeros"},
     ModuleKeywordError, "'alpha_initializer' matches no weight of Sequential"),
    ("bad identifier after good ones", {"kernel_initializer": "he_normal",
                                        "bias_initializer": "zeros",
                                        "depthwise_initializer": "xavier_uniform"},
     kerasinit.UnknownInitializerError, "Did you mean 'glorot_uniform'"),
    ("bad version", {"kernel_initializer": "he_normal", "keras_version": "4"},
     kerasinit.UnsupportedVersionError, "4"),
    ("unit_forget_bias not bool", {"unit_forget_bias": "yes"}, ModuleKeywordError,
     "`unit_forget_bias` must be True or False. Received: 'yes'."),
    ("rng needs seed", {"kernel_initializer": "he_normal", "rng": "tensorflow"},
     kerasinit.InitializerArgumentError, "needs a seed"),
    ("bad rng", {"kernel_initializer": "he_normal", "rng": "numpy"},
     kerasinit.InitializerArgumentError, "Unknown rng 'numpy'"),
]


@pytest.mark.parametrize("case", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_initialize_bad_input_raises_before_writing(case: tuple) -> None:  # type: ignore[type-arg]
    _, kwargs, error, message = case
    model = _model()
    before = _snapshot(model)
    rng_state = torch.get_rng_state()
    with pytest.raises(error, match=None) as info:
        kerasinit.initialize(model, **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, kerasinit.KerasInitError) and isinstance(info.value, ValueError)
    assert message in str(info.value)
    after = _snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(rng_state, torch.get_rng_state())


def test_torch_weight_keyword_suggests_kernel_initializer() -> None:
    with pytest.raises(ModuleKeywordError) as info:
        kerasinit.initialize(nn.Linear(2, 2), weight_initializer="he_normal")
    assert str(info.value).startswith(
        "Unknown Keras initializer keyword 'weight_initializer'. Did you mean "
        "'kernel_initializer' (Keras calls torch's weight the kernel;")


def test_unmatched_keyword_full_message() -> None:
    with pytest.raises(ModuleKeywordError) as info:
        kerasinit.initialize(nn.Embedding(5, 3), kernel_initializer="he_normal")
    assert str(info.value) == (
        "'kernel_initializer' matches no weight of Embedding. Its Keras weights take: "
        "'embeddings_initializer'. (Keras depthwise convs take 'depthwise_initializer', "
        "Embedding 'embeddings_initializer', normalization layers 'gamma_initializer'/"
        "'beta_initializer'.)")


def test_keras_defaults_bad_version_touches_nothing() -> None:
    model = _model()
    before = _snapshot(model)
    with pytest.raises(kerasinit.UnsupportedVersionError):
        kerasinit.keras_defaults_(model, keras_version="0.9")
    assert all(torch.equal(before[k], v) for k, v in _snapshot(model).items())


KNN_BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("bias keyword without bias", lambda: knn.Linear(3, 2, bias=False, bias_initializer="ones"),
     ModuleKeywordError, "Linear was given bias_initializer='ones', but it has no weight"),
    ("torch name", lambda: knn.Conv2d(3, 4, 3, kernel_initializer="kaiming_normal"),
     kerasinit.UnknownInitializerError, "kaiming_normal"),
    ("bad version", lambda: knn.LSTM(3, 4, keras_version="5"),
     kerasinit.UnsupportedVersionError, "5"),
    ("gamma without affine", lambda: knn.BatchNorm2d(3, affine=False, gamma_initializer="ones"),
     ModuleKeywordError, "has no weight"),
    ("prelu init and alpha", lambda: knn.PReLU(init=0.1, alpha_initializer="zeros"),
     ModuleKeywordError, "not both"),
    ("bad depth multiplier", lambda: knn.DepthwiseConv2d(3, 3, depth_multiplier=0),
     knn.LayerArgumentError, "depth_multiplier"),
    ("seed not int", lambda: knn.Linear(3, 2, seed="0"), ModuleKeywordError, "`seed`"),
    ("unseeded with seed-faithful rng", lambda: knn.Embedding(3, 2, rng="keras-torch"),
     kerasinit.InitializerArgumentError, "needs a seed"),
]


@pytest.mark.parametrize("case", KNN_BAD, ids=[c[0] for c in KNN_BAD])
def test_knn_layers_validate_before_construction(case: tuple) -> None:  # type: ignore[type-arg]
    _, make, error, message = case
    rng_state = torch.get_rng_state()
    with pytest.raises(error) as info:
        make()
    assert isinstance(info.value, kerasinit.KerasInitError)
    assert message in str(info.value)
    assert torch.equal(rng_state, torch.get_rng_state())  # global RNG untouched
