"""kerasinit.nn layers are drop-in torch modules.

For every layer: ``isinstance`` of the torch class, identical ``state_dict`` keys and shapes,
state_dict round trip both ways, identical forward outputs once the weights are copied,
``reset_parameters()`` deterministic under a generator and under a seed, deepcopy/pickle, and
TorchScript (+ ``torch.jit.save``) on a few layers; one ``torch.compile`` smoke.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
from collections.abc import Callable

import pytest
import torch
from torch import nn

from kerasinit import nn as knn

Pair = tuple[str, Callable[[], nn.Module], Callable[[], nn.Module], Callable[[], object]]

PAIRS: list[Pair] = [
    ("Linear", lambda: knn.Linear(5, 3), lambda: nn.Linear(5, 3), lambda: torch.randn(2, 5)),
    ("Conv1d", lambda: knn.Conv1d(4, 6, 3, padding=1), lambda: nn.Conv1d(4, 6, 3, padding=1),
     lambda: torch.randn(2, 4, 7)),
    ("Conv2d_groups", lambda: knn.Conv2d(4, 8, 3, groups=2), lambda: nn.Conv2d(4, 8, 3, groups=2),
     lambda: torch.randn(1, 4, 6, 6)),
    ("Conv3d", lambda: knn.Conv3d(2, 3, 2), lambda: nn.Conv3d(2, 3, 2),
     lambda: torch.randn(1, 2, 4, 4, 4)),
    ("ConvTranspose1d", lambda: knn.ConvTranspose1d(4, 6, 3, stride=2),
     lambda: nn.ConvTranspose1d(4, 6, 3, stride=2), lambda: torch.randn(1, 4, 5)),
    ("ConvTranspose2d", lambda: knn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1),
     lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1),
     lambda: torch.randn(1, 4, 5, 5)),
    ("ConvTranspose3d", lambda: knn.ConvTranspose3d(2, 3, 2), lambda: nn.ConvTranspose3d(2, 3, 2),
     lambda: torch.randn(1, 2, 3, 3, 3)),
    ("DepthwiseConv1d", lambda: knn.DepthwiseConv1d(4, 3, depth_multiplier=2),
     lambda: nn.Conv1d(4, 8, 3, groups=4), lambda: torch.randn(1, 4, 6)),
    ("DepthwiseConv2d", lambda: knn.DepthwiseConv2d(4, 3, depth_multiplier=3, padding=1),
     lambda: nn.Conv2d(4, 12, 3, padding=1, groups=4), lambda: torch.randn(1, 4, 6, 6)),
    ("SeparableConv2d", lambda: knn.SeparableConv2d(4, 6, 3, depth_multiplier=2),
     lambda: nn.Sequential(nn.Conv2d(4, 8, 3, groups=4, bias=False), nn.Conv2d(8, 6, 1)),
     lambda: torch.randn(1, 4, 6, 6)),
    ("SeparableConv1d", lambda: knn.SeparableConv1d(4, 6, 3),
     lambda: nn.Sequential(nn.Conv1d(4, 4, 3, groups=4, bias=False), nn.Conv1d(4, 6, 1)),
     lambda: torch.randn(1, 4, 6)),
    ("Embedding", lambda: knn.Embedding(10, 4, padding_idx=1),
     lambda: nn.Embedding(10, 4, padding_idx=1), lambda: torch.tensor([[1, 2, 9]])),
    ("RNN", lambda: knn.RNN(4, 6, nonlinearity="relu"), lambda: nn.RNN(4, 6, nonlinearity="relu"),
     lambda: torch.randn(3, 2, 4)),
    ("LSTM", lambda: knn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True),
     lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True),
     lambda: torch.randn(2, 3, 4)),
    ("GRU", lambda: knn.GRU(4, 6, num_layers=2), lambda: nn.GRU(4, 6, num_layers=2),
     lambda: torch.randn(3, 2, 4)),
    ("MultiheadAttention", lambda: knn.MultiheadAttention(8, 2, kdim=5, vdim=6),
     lambda: nn.MultiheadAttention(8, 2, kdim=5, vdim=6),
     lambda: (torch.randn(3, 1, 8), torch.randn(4, 1, 5), torch.randn(4, 1, 6))),
    ("BatchNorm1d", lambda: knn.BatchNorm1d(4), lambda: nn.BatchNorm1d(4),
     lambda: torch.randn(3, 4)),
    ("BatchNorm2d", lambda: knn.BatchNorm2d(4), lambda: nn.BatchNorm2d(4),
     lambda: torch.randn(2, 4, 3, 3)),
    ("BatchNorm3d", lambda: knn.BatchNorm3d(2), lambda: nn.BatchNorm3d(2),
     lambda: torch.randn(2, 2, 2, 2, 2)),
    ("LayerNorm", lambda: knn.LayerNorm([3, 4]), lambda: nn.LayerNorm([3, 4]),
     lambda: torch.randn(2, 3, 4)),
    ("GroupNorm", lambda: knn.GroupNorm(2, 4), lambda: nn.GroupNorm(2, 4),
     lambda: torch.randn(2, 4, 3)),
    ("PReLU", lambda: knn.PReLU(4), lambda: nn.PReLU(4), lambda: torch.randn(2, 4)),
]


def _out(m: nn.Module, x: object) -> torch.Tensor:
    y = m(*x) if isinstance(x, tuple) else m(x)
    return y[0] if isinstance(y, tuple) else y


def _perturb(m: nn.Module) -> None:
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for t in m.state_dict().values():
            if t.is_floating_point():
                t.add_(torch.rand(t.shape, generator=g))


@pytest.mark.parametrize("pair", PAIRS, ids=[p[0] for p in PAIRS])
def test_state_dict_and_forward_match_the_torch_module(pair: Pair) -> None:
    name, make_k, make_t, make_x = pair
    k, t = make_k(), make_t()
    if not name.startswith("Separable"):
        assert isinstance(k, type(t))
    ks, ts = k.state_dict(), t.state_dict()
    if name.startswith("Separable"):  # Sequential keys are 0./1.
        ts = {n.replace("0.", "depthwise.", 1).replace("1.", "pointwise.", 1): v
              for n, v in ts.items()}
    assert [(n, v.shape) for n, v in ks.items()] == [(n, v.shape) for n, v in ts.items()]
    _perturb(k)  # non-trivial values everywhere (biases, BN stats)
    sd = k.state_dict()
    t.load_state_dict(dict(zip(t.state_dict(), sd.values(), strict=True)))
    k.eval()
    t.eval()
    x = make_x()
    assert torch.equal(_out(k, x), _out(t, x))
    k2 = make_k()  # and back: a torch state_dict loads into the kerasinit layer
    k2.load_state_dict(sd)
    assert all(torch.equal(a, b) for a, b in zip(k2.state_dict().values(), sd.values(),
                                                  strict=True))


@pytest.mark.parametrize("pair", PAIRS, ids=[p[0] for p in PAIRS])
def test_reset_parameters_is_deterministic_under_a_generator(pair: Pair) -> None:
    _, make_k, _, _ = pair
    layer = make_k()
    layer.generator = torch.Generator().manual_seed(5)
    layer.reset_parameters()
    first = copy.deepcopy(layer.state_dict())
    _perturb(layer)
    layer.generator.manual_seed(5)
    layer.reset_parameters()
    assert all(torch.equal(first[n], v) for n, v in layer.state_dict().items())
    layer.reset_parameters()  # the generator advanced: random weights change
    random = [n for n, v in layer.state_dict().items() if not torch.equal(first[n], v)]
    constant_defaults = (knn.BatchNorm1d, knn.BatchNorm2d, knn.BatchNorm3d, knn.LayerNorm,
                         knn.GroupNorm, knn.PReLU)
    assert bool(random) != isinstance(layer, constant_defaults)


def test_seeded_layers_reset_to_identical_values_and_differ_by_seed() -> None:
    a = knn.Conv2d(3, 8, 3, seed=1)
    b = knn.Conv2d(3, 8, 3, seed=1)
    c = knn.Conv2d(3, 8, 3, seed=2)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
    w = a.weight.detach().clone()
    a.reset_parameters()
    assert torch.equal(w, a.weight)


def test_global_rng_drives_unseeded_layers_like_torch() -> None:
    torch.manual_seed(0)
    a = knn.Linear(6, 4)
    torch.manual_seed(0)
    b = knn.Linear(6, 4)
    assert torch.equal(a.weight, b.weight)


def test_deepcopy_pickle_keep_config_and_values() -> None:
    layer = knn.LSTM(4, 6, kernel_initializer="he_normal", generator=torch.Generator())
    clone = copy.deepcopy(layer)
    restored = pickle.loads(pickle.dumps(layer))
    for other in (clone, restored):
        assert other.keras_config() == layer.keras_config()
        assert all(torch.equal(x, y) for x, y in zip(other.state_dict().values(),
                                                      layer.state_dict().values(), strict=True))
    assert layer.keras_config()["initializers"]["kernel_initializer"]["class_name"] == "HeNormal"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("make", [lambda: knn.Linear(5, 3, generator=torch.Generator()),
                                  lambda: knn.Conv2d(3, 4, 3, seed=0),
                                  lambda: knn.DepthwiseConv2d(3, 3, depth_multiplier=2),
                                  lambda: knn.SeparableConv2d(3, 4, 3),
                                  lambda: knn.Embedding(6, 2)])
def test_torchscript_script_and_save(make: Callable[[], nn.Module]) -> None:
    layer = make()
    scripted = torch.jit.script(layer)
    x = torch.randint(0, 6, (2, 3)) if isinstance(layer, nn.Embedding) else (
        torch.randn(2, 5) if isinstance(layer, nn.Linear) else torch.randn(1, 3, 6, 6))
    assert torch.equal(scripted(x), layer(x))
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    assert torch.equal(torch.jit.load(buffer)(x), layer(x))


def test_torch_compile_smoke() -> None:
    """One compiled forward (~6 s on CPU)."""
    layer = knn.Linear(5, 3, seed=0)
    x = torch.randn(2, 5)
    compiled = torch.compile(layer)
    assert torch.allclose(compiled(x), layer(x))


def test_keras_config_json_round_trip_rebuilds_the_same_layer() -> None:
    layer = knn.Conv2d(3, 8, 3, kernel_initializer="he_normal", keras_version="3.14", seed=4)
    config = json.loads(json.dumps(layer.keras_config()))
    rebuilt = knn.Conv2d(3, 8, 3, **config["initializers"], keras_version=config["keras_version"],
                         seed=config["seed"], rng=config["rng"])
    assert rebuilt.keras_config() == layer.keras_config()
    assert torch.equal(rebuilt.weight, layer.weight)


@pytest.mark.parametrize("make", [
    lambda: knn.Linear(3, 2, bias=False), lambda: knn.Conv2d(2, 4, 3, bias=False),
    lambda: knn.ConvTranspose2d(2, 4, 3, bias=False),
    lambda: knn.DepthwiseConv2d(2, 3, bias=False), lambda: knn.SeparableConv2d(2, 4, 3, bias=False),
    lambda: knn.LSTM(3, 4, bias=False), lambda: knn.GRU(3, 4, bias=False),
    lambda: knn.MultiheadAttention(8, 2, bias=False),
    lambda: knn.BatchNorm1d(3, affine=False), lambda: knn.BatchNorm1d(3, track_running_stats=False),
    lambda: knn.LayerNorm(3, elementwise_affine=False), lambda: knn.LayerNorm(3, bias=False),
    lambda: knn.GroupNorm(1, 3, affine=False)])
def test_layers_without_optional_weights_drop_those_defaults(make: Callable[[], nn.Module]) -> None:
    """Keras defaults apply only to weights the layer has (no error for bias=False etc.)."""
    layer = make()
    layer.reset_parameters()
    assert "bias_initializer" not in layer.keras_initializers or any(
        "bias" in n for n, _ in layer.named_parameters())
