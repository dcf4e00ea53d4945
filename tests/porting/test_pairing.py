"""Pairing by structure (names, traced data flow, kinds, shapes) and flexible mapping; no TF."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from kerasinit import KerasInitError
from kerasinit.porting import PlanMismatchError, read
from kerasinit.porting.pairing import pair


def _functional(layers: list[dict], inputs: list[str], outputs: list[str]) -> dict:
    return {"class_name": "Functional", "keras_version": "3.15.1", "config": {
        "name": "m", "layers": layers, "input_layers": [[n, 0, 0] for n in inputs],
        "output_layers": [[n, 0, 0] for n in outputs]}}


def _input(name: str, shape: list) -> dict:
    return {"class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"name": name, "batch_shape": [None, *shape], "dtype": "float32"}}


def _layer(cls: str, name: str, inbound: list[str], **config: object) -> dict:
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]]}


GATED = _functional([
    _input("x", [8]),
    _layer("Dense", "gate", ["x"], units=8, bias_initializer="ones"),
    _layer("Dense", "value", ["x"], units=8),
    _layer("Multiply", "mul", ["gate", "value"])], ["x"], ["mul"])


class Gated(nn.Module):
    def __init__(self, first: str = "value", second: str = "gate") -> None:
        super().__init__()
        self.names = (second, first)
        setattr(self, first, nn.Linear(8, 8))  # registered in the other order than Keras's
        setattr(self, second, nn.Linear(8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.names[0])(x) * getattr(self, self.names[1])(x)


def test_equal_names_win_over_registration_order():
    model = Gated()
    report = read(GATED).apply(model)
    assert report.ok
    assert report["gate.bias"].keras_layer == "gate"
    assert torch.equal(model.gate.bias, torch.ones(8))
    assert torch.count_nonzero(model.value.bias) == 0


def test_candidates_that_would_differ_are_never_guessed():
    model = Gated("a", "b")  # same kind, shape and place: nothing tells gate from value
    before = model.a.bias.detach().clone()
    with pytest.raises(PlanMismatchError, match=r"ambiguous: Keras gate, value.*mapping=") as info:
        read(GATED).apply(model)
    assert torch.equal(model.a.bias, before)
    assert "'gate': " in str(info.value) and len(info.value.problems) == 1
    read(GATED).apply(model, mapping={"gate": "b", "value": "a"})
    assert torch.equal(model.b.bias, torch.ones(8))


CHAIN = _functional([
    _input("x", [8]),
    _layer("Dense", "d1", ["x"], units=16),
    _layer("Dense", "d2", ["d1"], units=16, bias_initializer="ones"),
    _layer("Dense", "d3", ["d2"], units=16),
    _layer("Dense", "out", ["d3"], units=4)], ["x"], ["out"])


class Scrambled(nn.Module):
    """Modules registered out of order, with names that say nothing; the forward says all."""

    def __init__(self) -> None:
        super().__init__()
        self.p = nn.Linear(16, 16)
        self.q = nn.Linear(16, 4)
        self.r = nn.Linear(16, 16)
        self.s = nn.Linear(8, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.q(self.p(self.r(self.s(x)).relu()))


def test_the_traced_data_flow_pairs_identical_shapes():
    model = Scrambled()
    plan = read(CHAIN)
    p = pair(plan, model)
    assert p.flow == "traced"
    pairs = {q.keras[0].path: q.unit.path for q in p.pairs}
    assert pairs == {"d1": "s", "d2": "r", "d3": "p", "out": "q"}
    assert set(p.how) == {"graph"}
    plan.apply(model)
    assert torch.equal(model.r.bias, torch.ones(16))
    assert torch.count_nonzero(model.p.bias) == 0


MHA = {"class_name": "Sequential", "keras_version": "3.15.1", "config": {"layers": [
    {"class_name": "MultiHeadAttention", "config": {
        "name": "mha", "num_heads": 4, "key_dim": 8, "value_dim": 8, "use_bias": True,
        "output_shape": None, "bias_initializer": "ones"},
     "build_config": {"shapes_dict": {"query_shape": [None, 5, 32],
                                      "value_shape": [None, 5, 32]}}}]}}


class SelfAttention(nn.Module):
    """Hugging Face layout: separate query / key / value / output Linears."""

    def __init__(self, names: tuple[str, str, str, str] = ("query", "key", "value", "out")):
        super().__init__()
        self.names = names
        for n in names:
            setattr(self, n, nn.Linear(32, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v, o = (getattr(self, n) for n in self.names)
        b, t, _ = x.shape
        heads = [y(x).view(b, t, 4, 8).transpose(1, 2) for y in (q, k, v)]
        att = (heads[0] @ heads[1].transpose(-1, -2) / math.sqrt(8)).softmax(-1) @ heads[2]
        return o(att.transpose(1, 2).reshape(b, t, 32))


class Wrapper(nn.Module):
    def __init__(self, **kwargs: object) -> None:
        super().__init__()
        self.attn = SelfAttention(**kwargs)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x)


@pytest.mark.parametrize("mapping", [
    {"mha": ("attn.query", "attn.key", "attn.value", "attn.out")},
    {"mha": "attn"},  # a prefix rule: the four are found by their names
    None,  # found in the traced forward: q, k, v feed one Linear
])
def test_one_keras_mha_onto_four_linears(mapping):
    model = Wrapper()
    report = read(MHA).apply(model, mapping=mapping, example_input=torch.zeros(1, 5, 32))
    assert report.ok, report.problems
    assert report["attn.key.weight"].keras_weight == "key/kernel"
    assert report["attn.out.weight"].keras_weight == "attention_output/kernel"
    limit = math.sqrt(6 / (32 + 32))  # Keras 3.15 einsum fans: (32, 4 * 8)
    for name in ("query", "key", "value", "out"):
        w = getattr(model.attn, name).weight
        assert limit * 0.9 < w.abs().max() <= limit
        assert torch.equal(getattr(model.attn, name).bias, torch.ones(32))


def test_mapping_values_and_duplicate_targets_are_checked_before_anything():
    plan = read(CHAIN)
    for bad in ({"d1": 5}, ["d1", "s"], {"d1": ("s", "p", "q")}, {3: "s"}):
        with pytest.raises(KerasInitError, match="mapping"):
            plan.apply(Scrambled(), mapping=bad)
    with pytest.raises(KerasInitError, match=r"targets torch module 's' twice"):
        plan.apply(Scrambled(), mapping={"d1": "s", "d2": "s"})


SEPARABLE = {"class_name": "Sequential", "keras_version": "3.15.1", "config": {"layers": [
    {"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 16, "kernel_size": 3,
                                                 "depth_multiplier": 2,
                                                 "batch_input_shape": [None, 9, 9, 4]}}]}}


def test_separable_conv_onto_any_two_modules():
    model = nn.Module()
    model.blk = nn.Module()
    model.blk.spatial = nn.Conv2d(4, 8, 3, groups=4, bias=False)
    model.blk.mix = nn.Conv2d(8, 16, 1)
    report = read(SEPARABLE).apply(model, mapping={"sep": ("blk.spatial", "blk.mix")})
    assert report.ok, report.problems
    assert report["blk.spatial.weight"].keras_weight == "depthwise_kernel"
    assert report["blk.mix.weight"].keras_weight == "pointwise_kernel"


NESTED = _functional([
    _input("x", [8]),
    {"class_name": "Sequential", "name": "encoder", "inbound_nodes": [[["x", 0, 0, {}]]],
     "config": {"name": "encoder", "layers": [
         {"class_name": "Dense", "config": {"name": "e1", "units": 16}},
         {"class_name": "Dense", "config": {"name": "e2", "units": 8}}]}},
    _layer("Dense", "head", ["encoder"], units=16, bias_initializer="ones")], ["x"], ["head"])


def test_nested_keras_model_onto_a_torch_container():
    model = nn.Module()
    model.top = nn.Linear(8, 16)  # same shape as encoder/e1, no forward to tell them apart
    model.enc = nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 8))
    plan = read(NESTED)
    with pytest.raises(PlanMismatchError, match="ambiguous"):
        plan.apply(model)
    report = plan.apply(model, mapping={"encoder": "enc"})
    assert report.ok, report.problems
    assert report["enc.0.weight"].keras_layer == "encoder/e1"
    assert torch.equal(model.top.bias, torch.ones(16))


def test_every_parameter_ends_in_one_state_and_one_weight_can_be_dropped():
    model = nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 16),
                          nn.Linear(16, 4))
    model.extra = nn.Parameter(torch.zeros(3))
    plan = read(CHAIN).drop("d2/bias")
    before = model[1].bias.detach().clone()
    report = plan.apply(model)
    assert report.ok, report.problems
    assert torch.equal(model[1].bias, before)
    states = {e.torch_name: e.status for e in report.entries}
    assert set(states) == {n for n, _ in model.named_parameters()}
    assert states["1.bias"] == "untouched" and "plan.drop" in report["1.bias"].note
    assert states["extra"] == "untouched" and "no Keras counterpart" in report["extra"].note
    assert [(d.keras_layer, d.keras_weight) for d in report.dropped] == [("d2", "bias")]
    assert "7 of 9 torch tensors initialized" in report.headline()
    with pytest.raises(KerasInitError, match="No weight-bearing Keras layer 'nope'"):
        plan.drop("nope")


CONV_BN = {"class_name": "Sequential", "keras_version": "3.15.1", "config": {"layers": [
    {"class_name": "Conv2D", "config": {"name": "conv", "filters": 16, "kernel_size": 3,
                                        "strides": 2, "padding": "same",
                                        "batch_input_shape": [None, 8, 8, 3]}},
    {"class_name": "BatchNormalization", "config": {"name": "bn", "scale": False,
                                                    "momentum": 0.999, "epsilon": 1e-3}}]}}


def test_conv_bias_dropped_bn_gamma_implicit_and_meta_planned():
    model = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
    with torch.no_grad():
        model[1].weight.fill_(3.0)
    report = read(CONV_BN).apply(model)
    assert report.ok, report.problems
    assert [(d.keras_layer, d.keras_weight) for d in report.dropped] == [("conv", "bias")]
    assert report["1.weight"].status == "implicit" and "frozen" in report["1.weight"].note
    assert torch.equal(model[1].weight, torch.ones(16))
    assert report["0.weight"].status == "applied"
    with torch.device("meta"):
        meta = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
    report = read(CONV_BN).apply(meta)
    assert {e.status for e in report.entries} == {"planned"}
    assert "0 of 5 torch tensors initialized" in report.headline()


def test_strict_false_writes_each_tensor_that_fits():
    model = nn.Sequential(nn.Conv2d(3, 16, 5, 2, 2), nn.BatchNorm2d(16))  # 5x5, Keras 3x3
    with torch.no_grad():
        model[0].bias.fill_(7.0)
    before = model[0].weight.detach().clone()
    with pytest.raises(PlanMismatchError) as info:
        read(CONV_BN).apply(model)
    message = str(info.value)
    assert message.startswith(
        "The torch model does not match the Keras plan; nothing was written. 1 problem (first "
        "divergence: Keras layer #1 conv (Conv2D) vs torch module 0 (Conv2d)); the first:\n"
        "  - shape mismatch: Keras conv")
    report = read(CONV_BN).apply(model, strict=False)
    assert report["0.weight"].status == "mismatch"
    assert torch.equal(model[0].weight, before)
    assert report["0.bias"].status == "applied"
    assert torch.count_nonzero(model[0].bias) == 0


def test_check_and_apply_hyperparameters():
    model = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
    check = read(CONV_BN).check(model)
    found = {(d.keras_layer, d.name): d for d in check.differences}
    assert found[("bn", "momentum")].value == pytest.approx(0.001)
    assert found[("bn", "epsilon")].torch == 1e-5 and found[("bn", "epsilon")].settable
    assert not found[("conv", "padding")].settable
    assert all(len(line) <= 100 for line in str(check).splitlines())
    report = read(CONV_BN).apply(model, hyperparameters=True)
    assert model[1].eps == 1e-3 and model[1].momentum == pytest.approx(0.001)
    assert any("not settable: conv padding" in n for n in report.notes)
    assert read(CONV_BN).check(model).settable == ()


def test_a_sequential_tree_pairs_as_a_chain_without_running_the_forward():
    """A plain nn.Sequential tree is read as a chain (no trace); anything that may route the
    data otherwise (an overridden forward, a hook, a custom leaf) is traced as before."""
    plan = read(CHAIN)
    seq = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Sequential(nn.Linear(16, 16), nn.Tanh()),
                        nn.Linear(16, 16), nn.Dropout(0.1), nn.Linear(16, 4))
    p = pair(plan, seq)
    assert p.flow == "a chain of nn.Sequential (not traced)" and not p.problems
    assert [(q.keras[0].path, q.unit.path) for q in p.pairs] == [
        ("d1", "0"), ("d2", "2.0"), ("d3", "3"), ("out", "5")]
    assert set(p.how) == {"graph"}

    class Reversed(nn.Sequential):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self[1](self[0](x))

    class Custom(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    hooked = nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 16),
                           nn.Linear(16, 4))
    hooked[1].register_forward_hook(lambda m, i, o: o)
    for model in (hooked,
                  nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 16), Custom(), nn.Linear(16, 16),
                                nn.Linear(16, 4)),
                  nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 16),
                                Reversed(nn.Linear(16, 16), nn.Linear(16, 4)))):
        assert pair(plan, model).flow == "traced"


def test_applying_to_a_sequential_twin_imports_nothing_heavy():
    """The chain needs no meta trace, whose decompositions import torch._dynamo and sympy
    (seconds and tens of MiB on a first call)."""
    import subprocess
    import sys

    code = ("import sys, torch, kerasinit.porting as p\n"
            "plan = p.read({'class_name': 'Sequential', 'keras_version': '3.15.1', 'config': {"
            "'layers': [{'class_name': 'Dense', 'config': {'name': 'a', 'units': 4, "
            "'batch_input_shape': [None, 8]}}, {'class_name': 'Dense', 'config': {'name': 'b', "
            "'units': 2}}]}})\n"
            "before = set(sys.modules)\n"
            "plan.apply(torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), "
            "torch.nn.Linear(4, 2)), rng='tensorflow', keras_seed=1)\n"
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] == 'sympy' "
            "or m.startswith('torch._dynamo')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_mapping_of_every_module_needs_no_trace():
    model, plan = Scrambled(), read(CHAIN)
    mapping = {"d1": "s", "d2": "r", "d3": "p", "out": "q"}
    p = pair(plan, model, mapping=mapping)
    assert p.flow == "not traced: mapping= pairs every torch module" and not p.problems
    assert {q.keras[0].path: q.unit.path for q in p.pairs} == mapping
    assert set(p.how) == {"mapping"}
    partial = pair(plan, model, mapping={"d1": "s"})  # the rest still needs the data flow
    assert partial.flow == "traced" and not partial.problems


def test_a_small_token_wise_model_is_traced_by_its_real_forward_first():
    """Before torch's meta machinery is imported, an MLP's real forward (microseconds) traces
    it instead of the meta kernels (whose first use imports torch._dynamo and sympy)."""
    import subprocess
    import sys

    code = ("import sys, kerasinit.porting as p, kerasinit.porting.pairing as q\n"
            "from tests.porting.test_pairing import CHAIN, Scrambled\n"
            "r = q.pair(p.read(CHAIN), Scrambled())\n"
            "print(r.flow, sorted((q.keras[0].path, q.unit.path) for q in r.pairs), "
            "any(m.startswith('torch._dynamo') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == ("traced [('d1', 's'), ('d2', 'r'), ('d3', 'p'), "
                                  "('out', 'q')] False")
