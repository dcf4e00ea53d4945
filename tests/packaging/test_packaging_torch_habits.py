"""torch users' habits: torch's keyword names, torch's positional order, model.apply, seeds."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import KerasInitError


def _g() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("torch_call,keras_call", [
    (lambda w: kerasinit.truncated_normal_(w, std=0.02, generator=_g()),
     lambda w: kerasinit.truncated_normal_(w, stddev=0.02, generator=_g())),
    (lambda w: kerasinit.truncated_normal_(w, 0.0, 0.02, a=-0.04, b=0.04, generator=_g()),
     lambda w: kerasinit.truncated_normal_(w, 0.0, 0.02, generator=_g())),
    (lambda w: kerasinit.random_normal_(w, mean=1.0, std=0.5, generator=_g()),
     lambda w: kerasinit.random_normal_(w, mean=1.0, stddev=0.5, generator=_g())),
    (lambda w: kerasinit.random_uniform_(w, a=-1, b=1, generator=_g()),
     lambda w: kerasinit.random_uniform_(w, minval=-1, maxval=1, generator=_g())),
    (lambda w: kerasinit.glorot_uniform_(w, gain=2, generator=_g()),
     lambda w: kerasinit.variance_scaling_(w, 4.0, "fan_avg", "uniform", generator=_g())),
    (lambda w: kerasinit.glorot_normal_(w, 0.5, generator=_g()),
     lambda w: kerasinit.variance_scaling_(w, 0.25, "fan_avg", "truncated_normal",
                                           generator=_g())),
    (lambda w: kerasinit.orthogonal_(w, 2.0, generator=_g()),
     lambda w: kerasinit.orthogonal_(w, gain=2.0, generator=_g())),
    (lambda w: kerasinit.constant_(w, val=3.0), lambda w: kerasinit.constant_(w, 3.0)),
])
def test_torch_keywords_mean_the_keras_arguments(torch_call, keras_call) -> None:  # type: ignore[no-untyped-def]
    a, b = torch.empty(40, 30), torch.empty(40, 30)
    assert torch.equal(torch_call(a), keras_call(b))


def test_glorot_gain_scales_the_bound_as_torch_does() -> None:
    w = kerasinit.glorot_uniform_(torch.empty(300, 200), gain=2.0, generator=_g())
    bound = 2.0 * (6 / 500) ** 0.5  # torch.nn.init.xavier_uniform_(w, gain=2) bound
    assert 0.99 * bound < w.abs().max().item() <= bound


def test_torch_positional_order_never_becomes_a_seed() -> None:
    w = torch.empty(4, 3)
    for fn in (kerasinit.he_normal_, kerasinit.he_uniform_, kerasinit.lecun_normal_,
               kerasinit.lecun_uniform_):
        with pytest.raises(TypeError):
            fn(w, 2)  # type: ignore[misc]  # torch's kaiming_*_(w, a) has another meaning
    with pytest.raises(TypeError):
        kerasinit.truncated_normal_(w, 0.0, 1.0, -2.0, 2.0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        kerasinit.orthogonal_(w, 1.0, 5)  # type: ignore[misc]


def test_conflicting_or_non_keras_torch_arguments_are_refused_before_writing() -> None:
    w = torch.full((4, 3), 7.0)
    with pytest.raises(KerasInitError, match=r"`std`.*`stddev`.*same argument"):
        kerasinit.truncated_normal_(w, stddev=0.1, std=0.2)
    with pytest.raises(KerasInitError, match="cuts at mean ± 2·stddev"):
        kerasinit.truncated_normal_(w, std=0.02, a=-2.0, b=2.0)  # torch's absolute default cut
    with pytest.raises(KerasInitError, match="gain"):
        kerasinit.glorot_uniform_(w, gain=-1.0)
    assert torch.equal(w, torch.full((4, 3), 7.0))


def test_initialize_and_keras_defaults_from_model_apply() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 2)))
    model.apply(lambda m: kerasinit.initialize(m, recurse=False, kernel_initializer="ones",
                                               bias_initializer="zeros"))
    assert all(bool((layer.weight == 1).all()) for layer in (model[0], model[2][0]))
    model.apply(lambda m: kerasinit.keras_defaults_(m, recurse=False))
    assert not bool((model[0].weight == 1).all())
    # a module WITH parameters that the keyword does not fit still raises
    with pytest.raises(KerasInitError, match="matches no weight of Embedding"):
        kerasinit.initialize(nn.Embedding(5, 3), recurse=False, kernel_initializer="ones")


def test_whole_model_seed_rule_is_shared_and_distinct_per_module() -> None:
    """seed=s: the i-th module gets s + i in both functions, so same-shape layers differ."""
    def fresh() -> nn.Sequential:
        return nn.Sequential(nn.Linear(6, 6), nn.Linear(6, 6))

    a, b = fresh(), fresh()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kerasinit.initialize(a, kernel_initializer="glorot_uniform", seed=5)
        kerasinit.keras_defaults_(b, seed=5)
    assert not torch.equal(a[0].weight, a[1].weight)
    assert torch.equal(a[0].weight, b[0].weight) and torch.equal(a[1].weight, b[1].weight)
    single = nn.Linear(6, 6)
    kerasinit.initialize(single, kernel_initializer="glorot_uniform", seed=6)
    assert torch.equal(single.weight, a[1].weight)  # module 1 of a got seed 5 + 1


def test_warning_names_tensors_a_seed_makes_identical() -> None:
    lstm = nn.LSTM(4, 4, bidirectional=True)
    with pytest.warns(UserWarning, match="weight_ih_l0, weight_ih_l0_reverse"):
        kerasinit.initialize(lstm, kernel_initializer="glorot_uniform", seed=1)
    assert torch.equal(lstm.weight_ih_l0, lstm.weight_ih_l0_reverse)  # Keras's semantics
    mha = nn.MultiheadAttention(8, 2)
    with pytest.warns(UserWarning, match="the 3 blocks of in_proj_weight"):
        kerasinit.initialize(mha, kernel_initializer="glorot_uniform", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a generator gives distinct values: no warning
        kerasinit.initialize(lstm, kernel_initializer="glorot_uniform", generator=_g())
    assert not torch.equal(lstm.weight_ih_l0, lstm.weight_ih_l0_reverse)
