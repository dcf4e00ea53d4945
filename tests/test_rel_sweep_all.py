"""The adversarial sweep over every public entry point (slow: run with ``-m slow``).

About 1,560 hostile calls (identifiers, configs, keyword values, tensors of every kind, shapes,
layouts, fans, modules with a bad last parameter, mangled ``kerasinit.nn`` layers, crafted model
configs and paths, ``Plan.apply``/``load_weights``/``verify`` arguments). Every call either
succeeds or raises a ``KerasInitError`` (or Python's own ``TypeError`` for a wrong signature),
and a refused call leaves every tensor bit-identical and torch's global RNG state unchanged.
The fast regressions of what it found are in ``tests/bridge/test_rel_sweep.py`` and
``tests/porting/test_rel_sweep_porting.py``; the command-line sweep is in the latter.
"""

# ruff: noqa: B023, E731, E701, E702
from __future__ import annotations

import collections
import json
import os
import tempfile
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import kerasinit
from kerasinit import KerasInitError, layouts, porting
from kerasinit import nn as knn

pytestmark = pytest.mark.slow


def _sweep() -> tuple[collections.Counter[str], list[tuple[Any, ...]]]:
    COUNTS: collections.Counter[str] = collections.Counter()
    BAD: list[tuple[Any, ...]] = []
    LOG: list[tuple[Any, ...]] = []
    def probe(entry, case, fn, tensors=(), expect=None):
        COUNTS[entry] += 1
        snaps = [t.detach().clone() if t.layout == torch.strided and not t.is_meta else None for t in tensors]
        st = torch.get_rng_state()
        try:
            fn(); outcome, msg = "ok", ""
        except KerasInitError as e:
            outcome, msg = "kie", str(e)
        except TypeError as e:
            outcome, msg = "TypeError", str(e)
        except Exception as e:
            outcome, msg = "RAW " + type(e).__name__, str(e)[:160]
        if outcome.startswith("RAW") or (outcome == "TypeError" and not any(
                k in msg for k in ("unexpected keyword", "positional argument", "required", "takes"))):
            BAD.append((entry, case, outcome, msg[:200]))
        if expect == "refuse" and outcome == "ok":
            BAD.append((entry, case, "ACCEPTED", ""))
        LOG.append((entry, case, outcome, msg[:150]))
        if outcome != "ok":
            for t, s in zip(tensors, snaps, strict=True):
                if s is not None and not (torch.equal(t.detach(), s) or (t.is_floating_point() and torch.equal(t.isnan(), s.isnan()))):
                    BAD.append((entry, case, "TENSOR CHANGED", msg[:120]))
            if not torch.equal(st, torch.get_rng_state()):
                BAD.append((entry, case, "RNG CHANGED", msg[:120]))
        return outcome, msg

    F = lambda *s: torch.zeros(*s)
    # ---------- A. get / __call__
    idents = [None, 42, 3.5, b"he_normal", ["he_normal"], {"class_name": 1}, {"class_name": "HeNormal", "config": []},
      {"class_name": "HeNormal", "config": {"seed": "1"}}, {"class_name": "HeNormal", "config": {"bogus": 1}},
      {"class_name": "VarianceScaling", "config": {"scale": -1}}, {"class_name": "VarianceScaling", "config": {"mode": "fan_x"}},
      {"class_name": "VarianceScaling", "config": {"distribution": "x"}}, {"class_name": "VarianceScaling", "config": {"scale": "1"}},
      {"class_name": "VarianceScaling", "config": {"scale": True}}, {"class_name": "Constant", "config": {"value": "a"}},
      {"class_name": "Constant", "config": {"value": None}}, {"class_name": "Constant", "config": {"value": {"a": 1}}},
      {"class_name": "Constant", "config": {"value": 10**400}}, {"class_name": "Orthogonal", "config": {"gain": "x"}},
      {"class_name": "Identity", "config": {"gain": [1]}}, {"class_name": "RandomUniform", "config": {"minval": 1, "maxval": 0}},
      {"class_name": "RandomNormal", "config": {"stddev": "0.1"}}, {"class_name": "TruncatedNormal", "config": {"mean": [0]}},
      {"class_name": "RandomUniform", "config": {"minval": float("inf"), "maxval": float("inf")}},
      {"class_name": "Zeros", "config": {"x": 1}}, {"class_name": "Ones", "config": None}, {"class_name": "STFT", "config": {"window": 5}},
      {"class_name": "STFT", "config": {"side": "x"}}, {"class_name": "STFT", "config": {"scaling": "x"}},
      {"class_name": "GlorotUniform", "config": {"seed": {"class_name": "SeedGenerator", "config": [1]}}},
      {"class_name": "GlorotUniform", "config": {"seed": {"class_name": "SeedGenerator", "config": {"seed": "x"}}}},
      {"class_name": "GlorotUniform", "config": {"seed": {"class_name": "SeedGenerator", "config": {"seed": 2**64}}}},
      {"class_name": "GlorotUniform", "module": 5, "config": {}}, {"class_name": "GlorotUniform", "registered_name": [1], "config": {}},
      "", " he_normal", "HE_NORMAL", "kaiming_normal", "xavier_uniform", "he_normal()", "a" * 10000, "\x00", "glorot_uniform\n",
      {"class_name": "GlorotUniform", "config": {"input_axes": 0, "output_axes": [1]}}, {1: 2}, {"class_name": "GlorotUniform", "config": {1: 2}},
      torch.nn.init.xavier_uniform_, lambda t: t, object(), kerasinit.get("he_normal"), {"class_name": "Initializer", "config": {}},
    ]
    for i, ident in enumerate(idents):
        t = F(4, 3)
        probe("get/__call__", f"ident {i} {str(ident)[:50]}", lambda: kerasinit.get(ident)(t), [t])
    get_kw = [dict(seed=-1), dict(seed=2**63), dict(seed=-(2**63) - 1), dict(seed=1.5), dict(seed="1"), dict(seed=True), dict(seed=np.int64(3)),
      dict(seed=float("nan")), dict(rng="x"), dict(rng=None), dict(rng=5), dict(keras_version="9"), dict(keras_version=[3]), dict(keras_version=3.5),
      dict(keras_version="3.x"), dict(keras_version=-1), dict(keras_version=(3, -1)), dict(keras_version="3" * 1000), dict(seed=[1])]
    for kw in get_kw:
        for rng in ("torch", "tensorflow", "keras-torch", "jax"):
            t = F(4, 3)
            kk = dict(kw); kk.setdefault("rng", rng)
            probe("get/__call__", f"get kw {kw} rng={rng}", lambda: kerasinit.get("glorot_uniform", **kk)(t), [t])
    call_kw = [dict(layout="bogus"), dict(layout=5), dict(layout=None), dict(fans=(1,)), dict(fans=(-1, 2)), dict(fans=("a", 1)),
      dict(fans=(float("nan"), 1)), dict(fans=(float("inf"), 1)), dict(fans=5), dict(generator=42), dict(generator="g"),
      dict(layout="conv_transpose"), dict(layout="keras"), dict(fans=(0, 0)), dict(fans=(True, 1)), dict(fans=(10**400, 1))]
    for kw in call_kw:
        for name in ("he_normal", "orthogonal", "identity", "constant", "random_uniform"):
            t = F(4, 3)
            probe("get/__call__", f"call {name} {kw}", lambda: kerasinit.get(name)(t, **kw), [t])
    with torch.inference_mode():
        inf_t = F(4, 3)
    p = nn.Parameter(F(4, 3))
    tensors = {"int64": torch.zeros(4, 3, dtype=torch.int64), "bool": torch.zeros(4, 3, dtype=torch.bool), "complex": torch.zeros(4, 3, dtype=torch.complex64),
      "f16": F(4, 3).half(), "bf16": F(4, 3).bfloat16(), "f64": F(4, 3).double(), "0d": torch.tensor(0.0), "empty": F(0, 3), "1d": F(5),
      "3d": F(2, 3, 4), "sparse": F(4, 3).to_sparse(), "expand": F(4, 1).expand(4, 3), "inference": inf_t, "param": p, "param_view": p[1:],
      "meta": torch.empty(4, 3, device="meta"), "transposed": F(3, 4).t(), "int8": torch.zeros(4, 3, dtype=torch.int8), "uint8": torch.zeros(4, 3, dtype=torch.uint8),
      "huge_meta": torch.empty(2**30, 2**30, device="meta"), "csr": F(4, 3).to_sparse_csr(), "f8": torch.zeros(4, 3, dtype=torch.float8_e4m3fn)}
    nontensors = {"ndarray": np.zeros((4, 3), dtype=np.float32), "list": [[0.0] * 3] * 4, "None": None, "int": 3}
    inits = ["he_normal", "orthogonal", "identity", "zeros", {"class_name": "Constant", "config": {"value": 1000}}, {"class_name": "Constant", "config": {"value": 1e6}},
             {"class_name": "Constant", "config": {"value": [[1, 2, 3]] * 4}}, "random_uniform", "truncated_normal", {"class_name": "STFT", "config": {}}]
    for tn, t in tensors.items():
        for ident in inits:
            for rng in ("torch", "tensorflow"):
                probe("get/__call__", f"tensor {tn} {str(ident)[:40]} rng={rng}", lambda: kerasinit.get(ident, seed=1, rng=rng)(t), [t] if t.layout == torch.strided else [])
    for tn, t in nontensors.items():
        probe("get/__call__", f"nontensor {tn}", lambda: kerasinit.get("he_normal")(t))

    # ---------- B. *_ functions
    fns = [n for n in kerasinit.__all__ if n.endswith("_") and n != "keras_defaults_"]
    fn_kw = {
     "glorot_uniform_": [dict(gain=-1), dict(gain="x"), dict(gain=float("nan")), dict(seed="1"), dict(layout="x"), dict(fans=(-1, 1))],
     "glorot_normal_": [dict(gain=0), dict(gain=10**400)],
     "he_uniform_": [dict(seed=2**64), dict(generator=1)], "he_normal_": [dict(mode="x"), dict(nonlinearity="x"), dict(a=-1)] ,
     "lecun_uniform_": [dict(seed=[1])], "lecun_normal_": [dict(fans=(1, 2, 3))],
     "variance_scaling_": [dict(scale=-1), dict(scale=0), dict(mode="fan_x"), dict(distribution="x"), dict(scale="1"), dict(scale=10**400), dict(mode=None)],
     "truncated_normal_": [dict(mean="a"), dict(stddev=None), dict(a=2, b=-2), dict(std=-1), dict(stddev=-1, rng="keras-torch"), dict(mean=1e308), dict(stddev=1e-17), dict(a=float("nan"))],
     "random_normal_": [dict(mean=[1]), dict(stddev="x"), dict(std=float("inf"))],
     "random_uniform_": [dict(minval=1, maxval=0), dict(minval="a"), dict(a=1, b=0), dict(minval=-3e38, maxval=3e38), dict(minval=0, maxval=1e39, rng="tensorflow")],
     "orthogonal_": [dict(gain="x"), dict(gain=float("nan"))], "identity_": [dict(gain="x")],
     "constant_": [dict(value="a"), dict(value=None), dict(val=[[1], [2, 3]]), dict(value=10**400), dict(value=float("nan"))],
     "zeros_": [], "ones_": [], "stft_": [dict(window=5), dict(side="x"), dict(scaling="x"), dict(periodic="x")],
    }
    ftensors = {"ok": lambda: F(4, 3), "int": lambda: torch.zeros(4, 3, dtype=torch.int32), "1d": lambda: F(5), "3d": lambda: F(2, 3, 4), "expand": lambda: F(4, 1).expand(4, 3),
                "0d": lambda: torch.tensor(1.0), "complex": lambda: torch.zeros(4, 3, dtype=torch.complex64)}
    for name in fns:
        fn = getattr(kerasinit, name)
        for kw in [*fn_kw.get(name, []), {}]:
            for tn, mk in ftensors.items():
                t = mk()
                probe("*_ functions", f"{name} {kw} {tn}", lambda: fn(t, **kw), [t])
        probe("*_ functions", f"{name} ndarray", lambda: fn(np.zeros((4, 3), np.float32)))
        probe("*_ functions", f"{name} None", lambda: fn(None))

    # ---------- C. describe
    shapes = [(3.5, 2), (-1, 2), ("3",), 3, None, (2,) * 65, (10**30, 10**30), (True, 2), np.array([3, 2]), torch.Size([3, 2]), (), (0, 3), (2**70,), [3, [2]], "32", (np.int64(3), 2), (float("nan"),)]
    for s in shapes:
        for ident in ("he_normal", "orthogonal", "identity", {"class_name": "TruncatedNormal", "config": {"stddev": 1e-17}}, "zeros"):
            probe("describe", f"{str(ident)[:30]} shape={str(s)[:30]}", lambda: kerasinit.describe(ident, s))
    for h in (-1, 0, 3, 2.0, True, "2", 2**70):
        for L in ("MHAProjection", "MHAOutput", "Depthwise"):
            probe("describe", f"layout {L}({h!r})", lambda: kerasinit.describe("he_normal", (8, 4), layout=getattr(layouts, L)(h)))
    for kw in [dict(layout="x"), dict(fans=(1,)), dict(fans=(-1, 1)),
               dict(keras_version="9"), dict(keras_version=None), dict(layout=5), dict(fans="ab"), dict(layout="lstm"), dict(layout="gru"), dict(layout=("lstm",)), dict(layout=["torch"])]:
        probe("describe", f"kw {kw}", lambda: kerasinit.describe("he_normal", (8, 4), **kw))
    probe("describe", "no shape", lambda: kerasinit.describe("he_normal"))
    probe("describe", "Initializer.describe bad", lambda: kerasinit.get("he_normal").describe("ab"))

    # ---------- D. initialize / keras_defaults_
    class Cx(nn.Module):
        def __init__(self):
            super().__init__(); self.a = nn.Linear(3, 3); self.b = nn.Linear(3, 3, dtype=torch.complex64)
    class Infer(nn.Module):
        def __init__(self):
            super().__init__(); self.a = nn.Linear(3, 3)
            with torch.inference_mode(): self.b = nn.Linear(3, 3)
    class Exp(nn.Module):
        def __init__(self):
            super().__init__(); self.a = nn.Linear(3, 3); self.b = nn.Linear(3, 3); self.b.weight = nn.Parameter(torch.zeros(3, 1).expand(3, 3))
    mods = {"complex_last": Cx, "inference_last": Infer, "expand_last": Exp, "lstm": lambda: nn.LSTM(3, 4), "mha": lambda: nn.MultiheadAttention(8, 2),
            "seq": lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))}
    init_kw = [{}, dict(kernel_initializer=5), dict(kernel_initializer="bogus"), dict(seed=2**64), dict(seed=2**63 - 1, rng="tensorflow"), dict(rng="x"), dict(recurse="yes"),
               dict(generator=5), dict(keras_version="9"), dict(bogus_initializer="he_normal"), dict(kernel_initializer={"class_name": "Constant", "config": {"value": [1, 2]}}),
               dict(unit_forget_bias="x"), dict(recurrent_initializer="identity"), dict(seed=-1), dict(bias_initializer={"class_name": "Constant", "config": {"value": float("nan")}})]
    for mn, mk in mods.items():
        for kw in init_kw:
            m = mk(); ps = [q for q in m.parameters()]
            probe("initialize", f"{mn} {kw}", lambda: kerasinit.initialize(m, **kw), ps)
        for kw in [k for k in init_kw if not any(x.endswith("initializer") or x == "unit_forget_bias" for x in k)]:
            m = mk(); ps = [q for q in m.parameters()]
            probe("keras_defaults_", f"{mn} {kw}", lambda: kerasinit.keras_defaults_(m, **kw), ps)
    for bad in ["x", None, 5, torch.zeros(3), [nn.Linear(2, 2)], nn.Linear]:
        probe("initialize", f"module={str(bad)[:30]}", lambda: kerasinit.initialize(bad, kernel_initializer="he_normal"))
        probe("keras_defaults_", f"module={str(bad)[:30]}", lambda: kerasinit.keras_defaults_(bad))

    # ---------- E. knn reset_parameters after hostile mutation
    muts = [("seed", 2**70), ("seed", "x"), ("rng", "x"), ("keras_initializers", {"kernel_initializer": "bogus"}), ("keras_initializers", {"bogus": "he_normal"}),
            ("keras_initializers", 5), ("generator", 5), ("keras_version", "9"), ("keras_version", None)]
    for cls, args in [(knn.Linear, (4, 3)), (knn.Conv2d, (4, 8, 3)), (knn.LSTM, (4, 8)), (knn.MultiheadAttention, (8, 2)), (knn.SeparableConv2d, (4, 8, 3)), (knn.BatchNorm2d, (4,)), (knn.Embedding, (5, 3))]:
        for attr, val in muts:
            m = cls(*args, seed=1); setattr(m, attr, val); ps = list(m.parameters()) + list(m.buffers())
            probe("knn reset_parameters", f"{cls.__name__}.{attr}={val!r}", lambda: m.reset_parameters(), ps)

    # ---------- F. porting.read
    tmp = tempfile.mkdtemp()
    def wr(name, data):
        p = os.path.join(tmp, name)
        with open(p, "wb") as fh:
            fh.write(data)
        return p
    DENSE = {"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}}, {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}
    def dense(**cfg):
        d = json.loads(json.dumps(DENSE)); d["config"]["layers"][1]["config"].update(cfg); return d
    sources = [b"", b"\x00\x01", b"null", b"[]", b"1e999", b'{"class_name": null}', b'{"class_name": "Sequential", "config": 5}', b'{"class_name": "Sequential", "config": {"layers": [1, 2]}}',
      b'{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense"}]}}', "/nonexistent/x.keras", "a\x00b", "", ".", 5, None, [1], object(), nn.Linear(2, 2),
      dense(units=-1), dense(units="a"), dense(units=10**20), dense(kernel_initializer=5), dense(kernel_initializer={"class_name": "Lambda", "config": {"function": "os.system"}}),
      dense(units=3.5), dense(use_bias="yes"), dense(name=5), dense(kernel_initializer={"class_name": "Constant", "config": {"value": [[1] * 3] * 5}}),
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"filters": 3, "kernel_size": 0, "batch_input_shape": [None, 8, 8, 3]}}]}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"filters": 3, "kernel_size": [3, 3, 3], "batch_input_shape": [None, 8, 8, 3]}}]}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 3, "batch_input_shape": [None, -4]}}]}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 3, "batch_input_shape": "abc"}}]}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "Embedding", "config": {"input_dim": -5, "output_dim": 3}}]}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "MultiHeadAttention", "config": {"num_heads": 0, "key_dim": 4}}]}},
      {"class_name": "Functional", "config": {"layers": [{"class_name": "Dense", "name": "d", "config": {"units": 3}, "inbound_nodes": [[["nope", 0, 0, {}]]]}], "input_layers": 5, "output_layers": []}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "Sequential", "config": {"layers": [{"class_name": "Sequential", "config": {"layers": []}}]}}]}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM", "config": {"units": 0, "batch_input_shape": [None, 3, 4]}}]}},
      {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 3, "batch_input_shape": [None, 10**30]}}]}},
    ]
    for i, src in enumerate(sources):
        probe("porting.read", f"src {i} {str(src)[:60]}", lambda: porting.read(src))
    for kw in [dict(keras_version="9"), dict(keras_version=[3]), dict(custom_objects=[1, 2]), dict(custom_objects={1: "he_normal"}), dict(custom_objects={"X": 5}), dict(strict="x")]:
        probe("porting.read", f"kw {kw}", lambda: porting.read(DENSE, **kw))

    # ---------- G. Plan.apply / load_weights
    plan = porting.read(DENSE)
    class TM(nn.Module):
        def __init__(self):
            super().__init__(); self.d = nn.Linear(4, 3)
    apply_kw = [dict(mapping={"d": 5}), dict(mapping=["d"]), dict(mapping={"nope": "d"}), dict(mapping={"d": "nope"}), dict(mapping={5: "d"}), dict(mapping="d"),
      dict(strict="maybe"), dict(generator=5), dict(rng="x"), dict(keras_seed=2**64), dict(keras_seed="1"), dict(keras_order="x"), dict(keras_seeds={"d": "b"}), dict(keras_seeds=[1]),
      dict(example_input="x"), dict(hyperparameters="x"), dict(keras_seed=1, rng="torch"), dict(keras_seeds={"d": 2**64}), dict(mapping={"d": ("d", "d")})]
    for kw in apply_kw:
        m = TM(); ps = list(m.parameters())
        probe("Plan.apply", f"{kw}", lambda: plan.apply(m, **kw), ps)
    for bad in ["x", None, nn.Linear(4, 3), nn.Sequential(), nn.Linear(5, 3)]:
        probe("Plan.apply", f"module={str(bad)[:30]}", lambda: plan.apply(bad), list(bad.parameters()) if isinstance(bad, nn.Module) else [])
    lw = [dict(source="/nonexistent.keras"), dict(source=5), dict(source=None), dict(source=b"abc"), dict(source=tmp), dict(source="/dev/zero"), dict(source=wr("j.json", json.dumps(DENSE).encode())),
          dict(source="/nonexistent.keras", mapping=5), dict(source="/nonexistent.keras", allow_dropped="x")]
    for kw in lw:
        m = TM(); ps = list(m.parameters())
        probe("Plan.load_weights", f"{kw}", lambda: plan.load_weights(m, **kw), ps)
    probe("Plan.load_weights", "model='x'", lambda: plan.load_weights("x", "/nonexistent.keras"))

    # ---------- H. verify
    vkw = [dict(keras_model=None, torch_model=TM(), inputs=np.zeros((1, 4))), dict(keras_model=object(), torch_model="x", inputs=np.zeros((1, 4))),
           dict(keras_model=object(), torch_model=TM(), inputs="x"), dict(keras_model=object(), torch_model=TM(), inputs=np.zeros((1, 4)), tolerance=-1),
           dict(keras_model=object(), torch_model=TM(), inputs=np.zeros((1, 4)), tolerance="a"), dict(keras_model=object(), torch_model=TM(), inputs=np.zeros((1, 4)), plan="x"),
           dict(keras_model=object(), torch_model=TM(), inputs=np.zeros((1, 4)), mapping=5)]
    for kw in vkw:
        probe("porting.verify", f"{ {k: str(v)[:20] for k, v in kw.items()} }", lambda: porting.verify(**kw))

    return COUNTS, BAD


def test_every_hostile_call_is_refused_cleanly_or_succeeds() -> None:
    pytest.importorskip("keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts, bad = _sweep()
    assert sum(counts.values()) > 1500
    assert bad == []
