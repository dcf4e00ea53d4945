"""The main job in one screen: where a naive torch port differs from Keras, and kerasinit doesn't.

For each case it prints the Keras target (from ``kerasinit.describe``), what kerasinit samples,
what the same-named ``torch.nn.init`` call samples, and -- when TensorFlow is installed -- what
Keras itself samples on the corresponding Keras kernel. Run: ``python examples/demo.py``.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from collections.abc import Callable
from dataclasses import dataclass

import torch

import kerasinit
from kerasinit import layouts


@dataclass
class Case:
    title: str
    identifier: str
    shape: tuple[int, ...]
    layout: kerasinit.layouts.LayoutLike
    naive_name: str
    naive: Callable[[torch.Tensor], object]


def _per_gate_orthogonal(t: torch.Tensor) -> None:
    for block in t.chunk(4, dim=0):
        torch.nn.init.orthogonal_(block)


CASES = [
    Case("Dense 784->256", "he_normal", (256, 784), "torch", "kaiming_normal_(relu)",
         lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="relu")),
    Case("DepthwiseConv2D 3x3, 256 ch, m=4", "he_normal", (1024, 1, 3, 3), layouts.Depthwise(4),
         "kaiming_normal_(relu)", lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="relu")),
    Case("Embedding 10000x128", "he_uniform", (10000, 128), "embedding",
         "kaiming_uniform_(relu)", lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu")),
    Case("MHA E=512 h=8 in_proj (3E,E)", "glorot_uniform", (1536, 512), layouts.mha_in_proj(8),
         "xavier_uniform_", torch.nn.init.xavier_uniform_),
    Case("LSTM H=128 weight_hh", "orthogonal", (512, 128), "torch", "orthogonal_ per gate",
         _per_gate_orthogonal),
    Case("TruncatedNormal(0.05)", "truncated_normal", (256, 784), "torch",
         "trunc_normal_(std=0.05)", lambda t: torch.nn.init.trunc_normal_(t, std=0.05)),
]


def _stats(t: torch.Tensor) -> str:
    return f"std {t.std().item():.4f} max {t.abs().max().item():.4f}"


def _keras_sample(case: Case) -> torch.Tensor | None:
    try:
        import keras
    except ImportError:
        return None
    resolved = kerasinit.describe(case.identifier, case.shape, layout=case.layout)
    blocks = resolved if isinstance(resolved, tuple) else (resolved,)
    values = []
    for i, r in enumerate(blocks):
        config = kerasinit.get(case.identifier, seed=i + 1).serialize()
        if r.fan_source.startswith("einsum"):
            config["config"].update(input_axes=[0], output_axes=[1, 2])
        init = keras.initializers.deserialize(config)
        values.append(torch.from_numpy(keras.ops.convert_to_numpy(init(r.keras_shape))).flatten())
    return torch.cat(values)


def main() -> None:
    torch.manual_seed(0)
    print(f"kerasinit {kerasinit.__version__}: Keras {'3.15'} semantics on torch layouts\n")
    for case in CASES:
        resolved = kerasinit.describe(case.identifier, case.shape, layout=case.layout)
        first = resolved[0] if isinstance(resolved, tuple) else resolved
        ours = kerasinit.get(case.identifier)(torch.empty(case.shape), layout=case.layout)
        naive = torch.empty(case.shape)
        case.naive(naive)
        print(f"{case.title}: Keras {case.identifier}")
        print(f"  Keras fans  (fan_in={first.fan_in:g}, fan_out={first.fan_out:g}) -> "
              f"{first.distribution.formula()}")
        keras_values = _keras_sample(case)
        if keras_values is not None:
            print(f"  Keras (TF)  {_stats(keras_values)}")
        print(f"  kerasinit   {_stats(ours)}")
        ratio = naive.std().item() / ours.std().item()
        tails = naive.abs().max().item() / ours.abs().max().item()
        flag = ("same" if math.isclose(ratio, 1.0, rel_tol=0.03) and math.isclose(
            tails, 1.0, rel_tol=0.05) else "DIFFERS")
        print(f"  naive torch {_stats(naive)}  [{case.naive_name}; std x{ratio:.2f}, "
              f"max x{tails:.2f}: {flag}]\n")
    whole_model()
    seed_faithful()
    print("Tails matter too: `kerasinit parity --quick` proves each mapping against TensorFlow.")


def whole_model() -> None:
    """A torch model started as Keras would start it, with the report of what was done."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3), torch.nn.Conv2d(32, 64, 3, groups=32),
        torch.nn.Flatten(), torch.nn.LazyLinear(10), torch.nn.Embedding(100, 8),
        torch.nn.LSTM(8, 16),
    )
    print("kerasinit.keras_defaults_(model):")
    print(kerasinit.keras_defaults_(model), "\n")


def seed_faithful() -> None:
    """rng='tensorflow': Keras's own numbers for a seed, computed without TensorFlow."""
    w = torch.empty(128, 784)  # nn.Linear(784, 128).weight
    kerasinit.get("he_normal", seed=42, rng="tensorflow")(w)
    print(f"seed-faithful: he_normal(seed=42) on nn.Linear(784, 128): w[0, :3] = "
          f"{[round(v, 6) for v in w[0, :3].tolist()]}")
    try:
        import keras
    except ImportError:
        print("  (install the parity extra to compare with Keras itself)\n")
        return
    k = keras.ops.convert_to_numpy(keras.initializers.HeNormal(seed=42)((784, 128)))
    same = torch.equal(w, torch.from_numpy(k).T)
    print(f"  Keras HeNormal(seed=42) on TF, transposed: bit-identical = {same}\n")


if __name__ == "__main__":
    main()
