"""RNN exactness: LSTM forget bias, the torch bias split, GRU gate order, orthogonal as one matrix.

Facts from ``shared/reference/layer-map.md`` §2 and §4: Keras LSTM ``unit_forget_bias``
*replaces* the forget block with 1 (``Constant(0.5)`` -> [0.5, 1, 0.5, 0.5]); torch sums
``bias_ih + bias_hh``; Keras GRU (reset_after=True) has a (2, 3H) bias whose rows are the input
and recurrent biases, gates z, r, h (torch r, z, n); Keras orthogonal on the recurrent kernel
(H, G·H) makes the whole matrix row-orthonormal, the H×H gate blocks are not orthogonal.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import nn as knn

H = 32


def _rnn_names(num_layers: int, bidirectional: bool, kind: str) -> list[str]:
    sfx = ["", "_reverse"] if bidirectional else [""]
    return [f"{kind}_l{k}{s}" for k in range(num_layers) for s in sfx]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_forget_bias_is_exactly_one_and_bias_hh_zero(bidirectional: bool) -> None:
    lstm = knn.LSTM(16, H, num_layers=2, bidirectional=bidirectional,
                    bias_initializer={"class_name": "Constant", "config": {"value": 0.5}})
    keras_bias = torch.cat([torch.full((H,), 0.5), torch.ones(H), torch.full((H,), 0.5),
                            torch.full((H,), 0.5)])
    for ih, hh in zip(_rnn_names(2, bidirectional, "bias_ih"),
                      _rnn_names(2, bidirectional, "bias_hh"), strict=True):
        b_ih, b_hh = lstm.get_parameter(ih).detach(), lstm.get_parameter(hh).detach()
        assert torch.equal(b_ih, keras_bias)  # exact: replaces, does not add
        assert torch.equal(b_hh, torch.zeros(4 * H))
        assert torch.equal(b_ih + b_hh, keras_bias)


def test_lstm_default_biases_and_unit_forget_bias_false() -> None:
    lstm = knn.LSTM(8, H)
    assert torch.equal(lstm.bias_ih_l0.detach()[H:2 * H], torch.ones(H))
    assert lstm.bias_ih_l0.detach()[:H].abs().max() == 0 and lstm.bias_hh_l0.abs().max() == 0
    off = knn.LSTM(8, H, unit_forget_bias=False)
    assert off.bias_ih_l0.abs().max() == 0 and off.bias_hh_l0.abs().max() == 0


def test_unit_forget_bias_alone_sets_only_the_forget_slices() -> None:
    lstm = nn.LSTM(8, H, num_layers=2)
    before = {n: p.detach().clone() for n, p in lstm.named_parameters()}
    report = kerasinit.initialize(lstm, unit_forget_bias=True)
    for name, p in lstm.named_parameters():
        now, old = p.detach(), before[name]
        if name.startswith("bias_"):
            forget = 1.0 if name.startswith("bias_ih") else 0.0
            assert torch.equal(now[H:2 * H], torch.full((H,), forget))
            assert torch.equal(now[:H], old[:H]) and torch.equal(now[2 * H:], old[2 * H:])
        else:
            assert torch.equal(now, old)
    assert set(report.names) == {"bias_ih_l0", "bias_hh_l0", "bias_ih_l1", "bias_hh_l1"}


def test_nonzero_bias_initializer_goes_to_bias_ih_with_zero_bias_hh() -> None:
    rnn = nn.RNN(4, H)
    kerasinit.initialize(rnn, bias_initializer="ones")
    assert torch.equal(rnn.bias_ih_l0.detach(), torch.ones(H))
    assert torch.equal(rnn.bias_hh_l0.detach(), torch.zeros(H))


def test_gru_bias_rows_and_gate_reorder() -> None:
    """Keras bias (2, 3H), blocks z, r, h -> torch bias_ih = row 0, bias_hh = row 1, blocks
    r, z, n. A seeded initializer makes the Keras-layout values reproducible here."""
    init = kerasinit.get("random_uniform", seed=7)
    keras = init(torch.empty(2, 3 * H), layout="keras")  # Keras's (2, 3H) bias, seed 7
    gru = nn.GRU(4, H)
    report = kerasinit.initialize(gru, bias_initializer="random_uniform", seed=7)
    for row, name in ((0, "bias_ih_l0"), (1, "bias_hh_l0")):
        z, r, h = keras[row].split(H)
        assert torch.equal(gru.get_parameter(name).detach(), torch.cat([r, z, h]))
        assert report[name].keras_shape == (2, 3 * H)
    # the negative control: without the reorder the values would not match
    assert not torch.equal(gru.bias_ih_l0.detach(), keras[0])


def test_gru_old_keras_default_reset_after_false_single_bias() -> None:
    gru = nn.GRU(4, H)
    report = kerasinit.initialize(gru, bias_initializer="ones", keras_version="2.2.4-tf")
    assert torch.equal(gru.bias_ih_l0.detach(), torch.ones(3 * H))
    assert torch.equal(gru.bias_hh_l0.detach(), torch.zeros(3 * H))
    assert report["bias_ih_l0"].keras_shape == (3 * H,)


def _keras_recurrent(w_hh: torch.Tensor) -> torch.Tensor:
    return w_hh.detach().double().T  # torch (G·H, H) -> Keras (H, G·H)


@pytest.mark.parametrize("cls,gates", [(knn.LSTM, 4), (knn.GRU, 3), (knn.RNN, 1)])
def test_recurrent_orthogonal_is_one_whole_matrix(cls: type[nn.Module], gates: int) -> None:
    """Keras (H, G·H) has orthonormal rows: K Kᵀ = I_H (equivalently W_hhᵀ W_hh = I for torch's
    (G·H, H)). Every layer and direction. Tolerance 1e-5 (float32 QR)."""
    rnn = cls(8, H, num_layers=2, bidirectional=True,
              generator=torch.Generator().manual_seed(0))
    for name in _rnn_names(2, True, "weight_hh"):
        k = _keras_recurrent(rnn.get_parameter(name))
        assert k.shape == (H, gates * H)
        assert torch.allclose(k @ k.T, torch.eye(H, dtype=torch.float64), atol=1e-5)
        if gates > 1:  # the gate blocks are not orthogonal on their own
            block = k[:, :H]
            assert not torch.allclose(block.T @ block, torch.eye(H, dtype=torch.float64),
                                      atol=0.1)
        assert float(k.std()) == pytest.approx((1.0 / (gates * H)) ** 0.5, rel=0.05)


def test_per_gate_orthogonal_fails_the_whole_matrix_check() -> None:
    """Negative control: the common torch idiom (orthogonal per gate block) gives
    K Kᵀ = G·I, not I (std 1/√H instead of 1/√(G·H), layer-map §4)."""
    lstm = nn.LSTM(8, H)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for block in lstm.weight_hh_l0.chunk(4, dim=0):
            nn.init.orthogonal_(block, generator=g)
    k = _keras_recurrent(lstm.weight_hh_l0)
    assert not torch.allclose(k @ k.T, torch.eye(H, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(k @ k.T, 4 * torch.eye(H, dtype=torch.float64), atol=1e-5)


def test_seeded_bidirectional_copies_are_identical_as_in_keras() -> None:
    """layer-map §6: Keras Bidirectional with a seeded initializer gives identical forward and
    backward weights; kerasinit's seed= follows Keras (seeded = same values per shape)."""
    lstm = knn.LSTM(8, H, bidirectional=True, seed=3)
    assert torch.equal(lstm.weight_ih_l0, lstm.weight_ih_l0_reverse)
    assert torch.equal(lstm.weight_hh_l0, lstm.weight_hh_l0_reverse)
    unseeded = knn.LSTM(8, H, bidirectional=True)
    assert not torch.equal(unseeded.weight_hh_l0, unseeded.weight_hh_l0_reverse)


def test_multilayer_bidirectional_report_covers_every_tensor() -> None:
    lstm = nn.LSTM(10, H, num_layers=3, bidirectional=True)
    report = kerasinit.keras_defaults_(lstm)
    assert set(report.names) == {n for n, _ in lstm.named_parameters()}
    assert len(report) == 3 * 2 * 4
    assert (report["weight_ih_l0"].fan_in, report["weight_ih_l2_reverse"].fan_in) == (10, 2 * H)
    assert report["weight_hh_l1_reverse"].initializer == "orthogonal"
    assert report.skipped == ()


def test_lstm_proj_size_weight_hr_reported_skipped_and_knn_keeps_torch_default() -> None:
    report = kerasinit.keras_defaults_(nn.LSTM(8, H, proj_size=4))
    assert [s.name for s in report.skipped] == ["weight_hr_l0"]
    lstm = knn.LSTM(8, H, proj_size=4, generator=torch.Generator().manual_seed(0))
    bound = 1.0 / H**0.5
    assert 0 < float(lstm.weight_hr_l0.detach().abs().max()) <= bound


def test_lstm_forget_bias_samples_the_rest_in_two_keras_calls() -> None:
    """Keras LSTM(unit_forget_bias=True) builds concat([init((H,)), ones((H,)), init((2H,))]).
    A seeded initializer restarts per call, so [0:H] equals [2H:3H]; a variance-scaling bias
    initializer gets fans (H, H) and (2H, 2H), not (4H, 4H)."""
    lstm = nn.LSTM(4, H)
    report = kerasinit.initialize(lstm, bias_initializer="random_uniform", seed=5)
    b = lstm.bias_ih_l0.detach()
    assert torch.equal(b[:H], b[2 * H:3 * H]) and not torch.equal(b[:H], b[3 * H:])
    assert "two calls" in report["bias_ih_l0"].note
    he = kerasinit.initialize(nn.LSTM(4, H), bias_initializer="he_uniform")["bias_ih_l0"]
    assert (he.fan_in, he.fan_out, he.keras_shape) == (H, H, (4 * H,))
    assert "fans 64, 64 for the second" in kerasinit.initialize(
        nn.LSTM(4, H), bias_initializer="he_uniform")["bias_ih_l0"].note
    single = kerasinit.initialize(nn.LSTM(4, H), bias_initializer="he_uniform",
                                  unit_forget_bias=False)["bias_ih_l0"]
    assert (single.fan_in, single.keras_shape) == (4 * H, (4 * H,))


def test_rnn_cells_get_the_keras_cell_treatment() -> None:
    """torch LSTMCell/GRUCell/RNNCell = Keras LSTMCell/GRUCell/SimpleRNNCell (same weights)."""
    model = nn.ModuleList([nn.LSTMCell(8, H), nn.GRUCell(8, H), nn.RNNCell(8, H)])
    report = kerasinit.keras_defaults_(model, generator=torch.Generator().manual_seed(0))
    assert report.skipped == ()
    lstm, gru, rnn = model
    assert torch.equal(lstm.bias_ih.detach()[H:2 * H], torch.ones(H))
    assert torch.equal(lstm.bias_hh.detach(), torch.zeros(4 * H))
    for cell, gates in ((lstm, 4), (gru, 3), (rnn, 1)):
        k = _keras_recurrent(cell.weight_hh)
        assert torch.allclose(k @ k.T, torch.eye(H, dtype=torch.float64), atol=1e-5)
        assert k.shape == (H, gates * H)
    assert (report["0.weight_ih"].keras_layer, report["1.weight_hh"].layout,
            report["1.bias_hh"].keras_shape, report["2.weight_ih"].fan_out) == (
        "LSTMCell", "gru", (2, 3 * H), H)


@pytest.mark.parametrize(("cls", "gates"), [(torch.nn.LSTM, 4), (torch.nn.GRU, 3)])
def test_keras1_rnn_weights_are_per_gate(cls: type[torch.nn.Module], gates: int) -> None:
    """Keras 1 kept W_i, U_i, ... as separate weights: each gate's recurrent block is its own
    orthogonal matrix with Keras 1's gain 1.1 (U Uᵀ = 1.21 I per block; the fused Keras 2/3
    matrix instead has KᵀK = I over all gates), and the kernel fans are per gate (X, H)."""
    torch.manual_seed(0)
    rnn = cls(8, 16)
    report = kerasinit.keras_defaults_(rnn, keras_version="1")
    for block in rnn.weight_hh_l0.detach().chunk(gates):
        assert torch.allclose(block @ block.T, 1.21 * torch.eye(16), atol=1e-5)
    row = report["weight_ih_l0"]
    assert (row.fan_in, row.fan_out) == (8, 16)
    assert rnn.weight_ih_l0.abs().max() <= (6 / (8 + 16)) ** 0.5
    kerasinit.keras_defaults_(rnn, keras_version="2")
    whole = rnn.weight_hh_l0.detach().T  # Keras (H, gates*H): orthonormal rows
    assert torch.allclose(whole @ whole.T, torch.eye(16), atol=1e-5)
    assert not torch.allclose(rnn.weight_hh_l0[:16] @ rnn.weight_hh_l0[:16].T,
                              1.21 * torch.eye(16), atol=1e-2)
