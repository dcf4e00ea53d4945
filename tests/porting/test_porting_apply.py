"""``plan.apply(torch_model)`` without TensorFlow: matching, checks before writing, reports.

Distribution checks here are exact support/structure checks (bounds, orthogonality, constants);
the statistical comparison against Keras's own initialized weights is in
``test_porting_keras.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from kerasinit.porting import ApplyReport, PlanMismatchError, read

DATA = Path(__file__).parents[1] / "data" / "porting"
C = 0.87962566103423978


class Functional224(nn.Module):
    """The torch twin of ``keras2_2_4_functional.json``."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(500, 24)
        self.rnn = nn.LSTM(24, 16, bidirectional=True, batch_first=True)
        self.shared = nn.Linear(32, 8)
        self.out = nn.Linear(8, 3)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_apply_functional_with_bidirectional_and_shared_layer():
    model = Functional224()
    report = read(DATA / "keras2_2_4_functional.json").apply(
        model, generator=torch.Generator().manual_seed(0))
    assert isinstance(report, ApplyReport) and report.ok, report.problems
    assert len(report.applied) == 1 + 8 + 2 + 2
    assert report["rnn.weight_hh_l0_reverse"].keras_layer == "bidirectional_1/backward_lstm_1"
    assert model.emb.weight.abs().max() <= 0.05
    h = 16
    for suffix in ("", "_reverse"):
        b_ih = getattr(model.rnn, f"bias_ih_l0{suffix}")
        assert torch.equal(b_ih[h:2 * h], torch.ones(h))  # unit_forget_bias
        assert torch.count_nonzero(torch.cat([b_ih[:h], b_ih[2 * h:]])) == 0
        assert torch.count_nonzero(getattr(model.rnn, f"bias_hh_l0{suffix}")) == 0
        w_hh = getattr(model.rnn, f"weight_hh_l0{suffix}")  # Keras (16, 64): rows orthonormal
        assert torch.allclose(w_hh.T @ w_hh, torch.eye(h), atol=1e-5)
    sigma = math.sqrt(2 / 32) / C  # Keras 2.2.4 "normal": corrected truncated normal
    assert model.shared.weight.abs().max() <= 2 * sigma + 1e-6
    assert model.shared.weight.abs().max() > 1.5 * sigma
    assert torch.count_nonzero(model.shared.bias) == 0
    assert "bidirectional_1/forward_lstm_1/kernel" in str(report)


def test_keras1_per_gate_blocks_and_gain():
    plan = read(DATA / "keras1_text_lstm.json")
    model = nn.Sequential(nn.Embedding(1000, 64), nn.LSTM(64, 32), nn.Linear(32, 10))
    report = plan.apply(model, generator=torch.Generator().manual_seed(1))
    assert report.ok, report.problems
    lstm = model[1]
    limit = math.sqrt(6 / (64 + 32))  # per gate block (64, 32); whole tensor would be 6/(64+128)
    assert lstm.weight_ih_l0.abs().max() <= limit
    assert lstm.weight_ih_l0.abs().max() > math.sqrt(6 / (64 + 128))
    for block in lstm.weight_hh_l0.chunk(4):  # each gate: 1.1 * orthogonal (Keras 1 scale)
        assert torch.allclose(block @ block.T, 1.21 * torch.eye(32), atol=1e-4)
    assert torch.equal(lstm.bias_ih_l0[32:64], torch.ones(32))
    # Keras 1 he_normal is an untruncated normal: some values beyond 2 sigma
    assert model[2].weight.abs().max() > 2 * math.sqrt(2 / 32)


def test_mismatch_writes_nothing_and_names_both_sides():
    model = nn.Sequential(nn.Embedding(500, 24), nn.LSTM(24, 16, bidirectional=True),
                          nn.Linear(32, 8), nn.Linear(8, 4))  # Keras dense_out has 3 units
    before = _snapshot(model)
    with pytest.raises(PlanMismatchError) as info:
        read(DATA / "keras2_2_4_functional.json").apply(model)
    message = str(info.value)
    assert "dense_out" in message and "3.weight" in message and "nothing was written" in message
    after = _snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not info.value.report.ok


def test_non_strict_applies_what_matches():
    model = nn.Sequential(nn.Embedding(500, 24), nn.LSTM(24, 16, bidirectional=True),
                          nn.Linear(32, 8), nn.Linear(8, 4))
    before = _snapshot(model)
    report = read(DATA / "keras2_2_4_functional.json").apply(model, strict=False)
    assert report["3.weight"].status == "mismatch"
    assert torch.equal(model[3].weight, before["3.weight"])
    assert report["2.weight"].status == "applied"
    assert not torch.equal(model[2].weight, before["2.weight"])


def test_kind_mismatch_and_missing_modules_are_reported():
    model = nn.Sequential(nn.Embedding(500, 24), nn.Conv1d(24, 16, 3))
    with pytest.raises(PlanMismatchError, match=r"kind mismatch.*forward_lstm_1.*Conv1d") as info:
        read(DATA / "keras2_2_4_functional.json").apply(model)
    assert "Keras dense_out (Dense) has no torch module" in str(info.value)


def test_explicit_mapping_overrides_order():
    class Reordered(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(8, 3)  # registered first: positional matching fails
            self.emb = nn.Embedding(500, 24)
            self.rnn = nn.LSTM(24, 16, bidirectional=True)
            self.shared = nn.Linear(32, 8)

    plan = read(DATA / "keras2_2_4_functional.json")
    report = plan.apply(Reordered())  # kinds and shapes tell every layer apart: no mapping needed
    assert report.ok and report["head.weight"].keras_layer == "dense_out"
    assert report["shared.weight"].keras_layer == "shared_dense"
    mapping = {"dense_out": "head", "embedding_1": "emb", "bidirectional_1": "rnn",
               "shared_dense": "shared"}
    report = plan.apply(Reordered(), mapping=mapping)
    assert report.ok and report["head.weight"].keras_layer == "dense_out"
    with pytest.raises(PlanMismatchError, match=r"no such torch module.*Did you mean 'head'"):
        plan.apply(Reordered(), mapping={"dense_out": "heads"})


def test_separable_container_and_depthwise_fans():
    config = {"class_name": "Sequential", "keras_version": "3.15.1", "config": {"layers": [
        {"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 32,
         "kernel_size": [3, 3], "depth_multiplier": 2, "use_bias": True,
         "depthwise_initializer": "he_uniform", "pointwise_initializer": "he_uniform"},
         "build_config": {"input_shape": [None, 16, 16, 64]}}]}}

    class Separable(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.depthwise = nn.Conv2d(64, 128, 3, groups=64, bias=False)
            self.pointwise = nn.Conv2d(128, 32, 1)

    model = nn.Sequential(Separable())
    report = read(config).apply(model, generator=torch.Generator().manual_seed(0))
    assert report.ok, report.problems
    dw_limit = math.sqrt(6 / (64 * 9))  # Keras fan_in = in * K; torch's own rule: K = 9
    w = model[0].depthwise.weight
    assert w.abs().max() <= dw_limit and w.abs().max() > 0.9 * dw_limit
    assert model[0].pointwise.weight.abs().max() <= math.sqrt(6 / 128)
    assert torch.count_nonzero(model[0].pointwise.bias) == 0
    # a depthwise bias has no Keras counterpart
    model[0].depthwise = nn.Conv2d(64, 128, 3, groups=64, bias=True)
    with pytest.raises(PlanMismatchError, match=r"depthwise.bias"):
        read(config).apply(model)


def test_keras1_th_cnn_to_torch():
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(1352, 10))
    nn.init.constant_(model[1].running_var, 5.0)
    report = read(DATA / "keras1_cnn_th.json").apply(model)
    assert report.ok, report.problems
    assert torch.equal(model[1].running_var, torch.ones(8))
    assert model[5].weight.abs().max() <= math.sqrt(3 / 1352)  # lecun_uniform


def test_apply_rejects_non_modules():
    from kerasinit import KerasInitError

    with pytest.raises(KerasInitError, match=r"torch.nn.Module"):
        read(DATA / "keras1_cnn_th.json").apply("model")  # type: ignore[arg-type]


def _gru_plan(reset_after: bool, version: str):
    return read({"class_name": "Sequential", "keras_version": version, "config": {"layers": [
        {"class_name": "GRU", "config": {"name": "gru", "units": 8, "reset_after": reset_after,
         "bias_initializer": {"class_name": "RandomUniform",
                              "config": {"minval": 0.5, "maxval": 1.0}}},
         "build_config": {"input_shape": [None, 5, 4]}}]}})


def test_gru_reset_after_from_the_layer_config_not_the_version_default():
    gru = nn.GRU(4, 8)
    report = _gru_plan(False, "3.15.1").apply(gru, generator=torch.Generator().manual_seed(0))
    assert report.ok, report.problems
    assert bool((gru.bias_ih_l0 >= 0.5).all()) and torch.count_nonzero(gru.bias_hh_l0) == 0
    gru = nn.GRU(4, 8)  # Keras 2.1.6 default is reset_after=False; this layer set True
    report = _gru_plan(True, "2.1.6").apply(gru, generator=torch.Generator().manual_seed(0))
    assert report.ok, report.problems
    assert bool((gru.bias_ih_l0 >= 0.5).all()) and bool((gru.bias_hh_l0 >= 0.5).all())


@pytest.mark.parametrize("fixture", ["keras1_text_lstm.json", "keras2_2_4_functional.json",
                                     "keras3_convnet.keras"])
def test_applied_distribution_is_the_planned_one(fixture):
    models = {"keras1_text_lstm.json": lambda: nn.Sequential(
                  nn.Embedding(1000, 64), nn.LSTM(64, 32), nn.Linear(32, 10)),
              "keras2_2_4_functional.json": Functional224,
              "keras3_convnet.keras": lambda: nn.Sequential(
                  nn.Conv2d(3, 32, 3, bias=False), nn.BatchNorm2d(32), _Sep(32, 64),
                  nn.BatchNorm2d(64), nn.Conv2d(64, 128, 3, groups=64), nn.Linear(128, 10))}
    plan = read(DATA / fixture)
    report = plan.apply(models[fixture]())
    assert report.ok, report.problems
    rows = {(r.layer, r.weight): r for r in plan.rows}
    for entry in report.applied:
        row = rows[(entry.keras_layer, entry.keras_weight)]
        assert entry.distribution.startswith(row.resolved.distribution.formula()), (entry, row)


class _Sep(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)


def test_seed_faithful_rng_needs_seeds_and_writes_nothing():
    from kerasinit import KerasInitError

    model = Functional224()
    before = _snapshot(model)
    with pytest.raises(KerasInitError, match=r"seed=None.*nothing was written"):
        read(DATA / "keras2_2_4_functional.json").apply(model, rng="tensorflow")
    assert all(torch.equal(before[k], v) for k, v in _snapshot(model).items())


def test_failure_while_writing_rolls_back(monkeypatch):
    import kerasinit.modules.apply as modules

    real, calls = modules.initialize, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(modules, "initialize", flaky)
    model = Functional224()
    before = _snapshot(model)
    rng_before = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="disk on fire"):
        read(DATA / "keras2_2_4_functional.json").apply(model, rollback=True)
    assert len(calls) == 3
    assert all(torch.equal(before[k], v) for k, v in _snapshot(model).items())
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_failure_while_writing_without_rollback_names_what_was_written(monkeypatch):
    """The default makes no copy: the RNG is restored, the note names the written tensors and
    a second call writes exactly what an undisturbed call writes."""
    import kerasinit.modules.apply as modules

    real, calls = modules.initialize, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    plan = read(DATA / "keras2_2_4_functional.json")
    model, clean = Functional224(), Functional224()
    before = _snapshot(model)
    torch.manual_seed(3)
    plan.apply(clean)
    torch.manual_seed(3)
    monkeypatch.setattr(modules, "initialize", flaky)
    with pytest.raises(RuntimeError, match="disk on fire") as info:
        plan.apply(model)
    changed = sorted(k for k, v in _snapshot(model).items() if not torch.equal(before[k], v))
    assert changed and len(changed) < len(before)  # part-written, as the note says
    note = " ".join(getattr(info.value, "__notes__", []))
    assert f"{len(changed)} torch tensor(s) were already written" in note
    listed = note.split("written (", 1)[1].split(";", 1)[0].removesuffix(", ...").split(", ")
    assert len(listed) == min(6, len(changed)) and set(listed) <= set(changed)
    monkeypatch.setattr(modules, "initialize", real)
    plan.apply(model)  # the RNG state was restored: the same values as the undisturbed call
    assert all(torch.equal(v, _snapshot(clean)[k]) for k, v in _snapshot(model).items())


def test_porting_import_loads_no_tensorflow_or_h5py():
    import subprocess
    import sys

    code = ("import sys, kerasinit; kerasinit.porting.read('" + str(DATA / "keras1_cnn_th.json")
            + "'); print(sorted(m for m in ('tensorflow', 'keras', 'h5py', 'tf_keras') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_separable_as_two_consecutive_convs():
    plan = read(DATA / "keras3_convnet.keras")
    model = nn.Sequential(nn.Conv2d(3, 32, 3, bias=False), nn.BatchNorm2d(32),
                          nn.Conv2d(32, 32, 3, groups=32, bias=False),  # depthwise
                          nn.Conv2d(32, 64, 1, bias=False),  # pointwise
                          nn.BatchNorm2d(64), nn.Conv2d(64, 128, 3, groups=64), nn.Linear(128, 10))
    report = plan.apply(model, generator=torch.Generator().manual_seed(0))
    assert report.ok, report.problems
    assert report["2.weight"].keras_weight == "depthwise_kernel"
    assert report["3.weight"].keras_weight == "pointwise_kernel"
    limit = math.sqrt(6 / (32 * 9 + 9))  # Keras depthwise fans (in * K, m * K) = (288, 9)
    assert model[2].weight.abs().max() <= limit
    assert model[2].weight.abs().max() > math.sqrt(6 / (9 + 32 * 9)) * 0.9
    assert model[3].weight.abs().max() <= math.sqrt(6 / (32 + 64))


@pytest.mark.parametrize(("version", "fans"), [("3.15.1", (32, 32)), ("3.14.0", (128, 256)),
                                               ("2.21.0", (128, 256))])
def test_mha_packed_in_proj_follows_the_file_version(version, fans):
    config = {"class_name": "Sequential", "keras_version": version, "config": {"layers": [
        {"class_name": "MultiHeadAttention", "config": {"name": "mha", "num_heads": 4,
         "key_dim": 8, "value_dim": 8, "use_bias": True, "output_shape": None},
         "build_config": {"shapes_dict": {"query_shape": [None, 5, 32],
                                          "value_shape": [None, 5, 32]}}}]}}
    plan = read(config)
    q = plan.rows[0]
    assert (q.weight, q.keras_shape) == ("query/kernel", (32, 4, 8))
    assert (q.resolved.fan_in, q.resolved.fan_out) == fans
    mha = nn.MultiheadAttention(32, 4)
    report = plan.apply(mha, generator=torch.Generator().manual_seed(0))
    assert report.ok, report.problems
    limit = math.sqrt(6 / sum(fans))
    for block in mha.in_proj_weight.detach().chunk(3):  # q, k, v: each its own Keras kernel
        assert limit * 0.9 < block.abs().max() <= limit
    assert torch.count_nonzero(mha.in_proj_bias) == 0
