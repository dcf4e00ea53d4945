"""Objects behave as Python and torch users expect: pickle, copy, equality, modules, TorchScript."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import nn as knn


@pytest.mark.parametrize("identifier,kwargs", [
    ("he_normal", {}),
    ({"class_name": "HeNormal", "config": {"seed": 3}}, {"rng": "tensorflow"}),
    ({"class_name": "Orthogonal", "config": {"gain": 1.5, "seed": 1}}, {"keras_version": "2"}),
])
def test_initializer_pickles_copies_and_compares_by_config(identifier: object,
                                                           kwargs: dict[str, object]) -> None:
    init = kerasinit.get(identifier, **kwargs)  # type: ignore[arg-type]
    for other in (pickle.loads(pickle.dumps(init)), copy.deepcopy(init), copy.copy(init)):
        assert other == init and hash(other) == hash(init) and other is not init
        assert other.get_config() == init.get_config() and repr(other) == repr(init)
    assert kerasinit.get(identifier, **kwargs) == init  # type: ignore[arg-type]
    assert init != kerasinit.get("glorot_uniform")


def test_seeded_initializer_gives_the_same_values_after_a_round_trip() -> None:
    init = kerasinit.get("glorot_uniform", seed=11)
    clone = pickle.loads(pickle.dumps(init))
    assert torch.equal(init(torch.empty(6, 5)), clone(torch.empty(6, 5)))


def test_model_holding_an_initializer_deep_copies_and_saves() -> None:
    model = nn.Linear(3, 4)
    model.init = kerasinit.get("he_uniform", seed=2)  # type: ignore[assignment]
    twin = copy.deepcopy(model)
    assert twin.init == model.init  # type: ignore[comparison-overlap]
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert loaded.init == model.init


def test_layouts_is_a_module() -> None:
    import importlib

    from kerasinit.layouts import Depthwise, mha_in_proj

    module = importlib.import_module("kerasinit.layouts")
    assert kerasinit.layouts is module
    assert Depthwise is kerasinit.bridge.layouts.Depthwise
    assert set(module.__all__) == set(kerasinit.bridge.layouts.__all__)
    assert kerasinit.describe("he_normal", (64, 1, 3, 3), layout=Depthwise(4)).fan_in == 9 * 16
    assert len(kerasinit.describe("glorot_uniform", (24, 8), layout=mha_in_proj(2))) == 3


class _Wrapper(nn.Module):
    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("cls", [knn.LSTM, knn.GRU, knn.RNN])
def test_recurrent_layers_script_inside_a_model(cls: type[nn.Module]) -> None:
    """As torch's own RNN modules: scripted inside a scripted model, saved, loaded, same output."""
    model = _Wrapper(cls(4, 8, num_layers=2, bidirectional=True, seed=0))
    scripted = torch.jit.script(model)
    x = torch.randn(5, 2, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(scripted(x), model(x))
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    assert torch.equal(torch.jit.load(buffer)(x), model(x))
    # scripting shares the parameters: nothing is copied or re-initialized
    assert scripted.rnn.weight_ih_l0.data_ptr() == model.rnn.weight_ih_l0.data_ptr()


@pytest.mark.parametrize("cls", [knn.LSTM, knn.GRU, knn.RNN])
def test_recurrent_repr_lists_keras_fields_once(cls: type[nn.Module]) -> None:
    text = repr(cls(4, 8))
    assert text.count("kernel_initializer=") == 1 and text.count("keras_version=") == 1, text


_MAKERS = {
    "Linear": lambda c: c(4, 3), "Conv1d": lambda c: c(2, 3, 3), "Conv2d": lambda c: c(2, 3, 3),
    "Conv3d": lambda c: c(2, 3, 3), "ConvTranspose1d": lambda c: c(2, 3, 3),
    "ConvTranspose2d": lambda c: c(2, 3, 3), "ConvTranspose3d": lambda c: c(2, 3, 3),
    "DepthwiseConv1d": lambda c: c(4, 3), "DepthwiseConv2d": lambda c: c(4, 3),
    "SeparableConv1d": lambda c: c(4, 8, 3), "SeparableConv2d": lambda c: c(4, 8, 3),
    "Embedding": lambda c: c(10, 4), "MultiheadAttention": lambda c: c(8, 2),
    "BatchNorm1d": lambda c: c(4), "BatchNorm2d": lambda c: c(4), "BatchNorm3d": lambda c: c(4),
    "LayerNorm": lambda c: c(4), "GroupNorm": lambda c: c(2, 4), "PReLU": lambda c: c(),
}


@pytest.mark.parametrize("name", sorted(set(knn.__all__) - {"LSTM", "GRU", "RNN", "LayerArgumentError"}))
def test_every_other_layer_scripts_on_its_own(name: str) -> None:
    """The docs' TorchScript claim, layer by layer (a new layer must be added here)."""
    layer = _MAKERS[name](getattr(knn, name))
    scripted = torch.jit.script(layer)
    assert sorted(dict(scripted.named_parameters())) == sorted(dict(layer.named_parameters()))
