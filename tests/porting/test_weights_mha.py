"""A Keras MultiHeadAttention whose heads x key_dim (2 x 3 = 6) differs from the embedding
size (8) has no ``nn.MultiheadAttention`` form; it loads onto four Linears (q, k, v: 8 -> 6;
o: 6 -> 8), paired by the data flow, bit for bit, and ``verify`` agrees at the attention
output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
pytest.importorskip("h5py", reason="reading weights needs h5py (the porting extra)")
keras = pytest.importorskip("keras")

from kerasinit.porting import read, verify  # noqa: E402
from tests.porting import weights_twins as tw  # noqa: E402

pytestmark = [pytest.mark.tf]
X = np.random.default_rng(4).standard_normal((2, 5, 8)).astype("float32")
HEADS, KEY_DIM, EMBED = 2, 3, 8


class FourLinears(nn.Module):
    """Self-attention written out with four Linears, as Keras computes it."""

    def __init__(self) -> None:
        super().__init__()
        inner = HEADS * KEY_DIM
        self.q_proj = nn.Linear(EMBED, inner)
        self.k_proj = nn.Linear(EMBED, inner)
        self.v_proj = nn.Linear(EMBED, inner)
        self.out_proj = nn.Linear(inner, EMBED)
        self.head = nn.Linear(EMBED, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, HEADS, KEY_DIM).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / KEY_DIM ** 0.5, dim=-1)
        att = (weights @ v).transpose(1, 2).reshape(b, t, HEADS * KEY_DIM)
        return self.head(self.out_proj(att))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    inp = keras.Input((5, EMBED))
    x = keras.layers.MultiHeadAttention(HEADS, KEY_DIM, name="mha")(inp, inp)
    model = keras.Model(inp, keras.layers.Dense(3, name="head")(x))
    tw.randomize(keras, model, X, seed=9)
    path = tmp_path_factory.mktemp("mha") / "mha.keras"
    model.save(path)
    return model, path


@pytest.mark.parametrize("fmt", ["keras", "live"])
def test_mha_loads_onto_four_linears_bit_for_bit_and_agrees(saved: Any, fmt: str) -> None:
    model, path = saved
    twin = FourLinears()
    report = read(path).load_weights(twin, model if fmt == "live" else path)
    mha = model.get_layer("mha")
    inner = HEADS * KEY_DIM
    for name, dense in (("q_proj", mha.query_dense), ("k_proj", mha.key_dense),
                        ("v_proj", mha.value_dense)):
        kernel, bias = (np.asarray(w) for w in dense.weights)
        assert kernel.shape == (EMBED, HEADS, KEY_DIM)
        linear = getattr(twin, name)
        assert torch.equal(linear.weight, torch.from_numpy(kernel.reshape(EMBED, inner).T.copy()))
        assert torch.equal(linear.bias, torch.from_numpy(bias.reshape(inner)))
    kernel, bias = (np.asarray(w) for w in mha.output_dense.weights)
    assert torch.equal(twin.out_proj.weight,
                       torch.from_numpy(kernel.reshape(inner, EMBED).T.copy()))
    assert torch.equal(twin.out_proj.bias, torch.from_numpy(bias))
    assert all(e.status == "used" for e in report.keras) and len(report.loaded) == 10
    assert ("mha",) in [k for k, _ in report.pairs]
    check = verify(model, twin, X)
    assert check.ok and check["mha"].ok and check["mha"].rel <= 1e-5, str(check)
    assert check["mha"].torch_module == "q_proj+k_proj+v_proj+out_proj"
