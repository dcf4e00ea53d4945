"""kerasinit vs timm's TF-style initializers vs torch.nn.init vs Keras 3 on the torch backend.

Measures the realised std and max |w| of ``lecun_normal`` on four torch parameters. timm cannot
be imported on the machine these figures come from (its torchvision import fails), so timm's
``trunc_normal_tf_`` / ``variance_scaling_`` / ``lecun_normal_`` are reimplemented below from
their documented behaviour (timm/layers/weight_init.py): torch's
``_calculate_fan_in_and_fan_out`` on the torch tensor, variance ``scale / fan``, a truncated
normal cut at ±2σ of std ``sqrt(variance) / 0.8796``. Keras-on-torch runs in a subprocess with
``KERAS_BACKEND=torch`` on the Keras kernel shape (skipped when Keras is not installed).

Run: ``python benchmarks/compare_libraries.py`` (prints a markdown table; docs/comparison.md).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import torch

import kerasinit
from kerasinit.bridge.layouts import Depthwise

#: (label, torch shape, kerasinit layout, Keras kernel shape)
CASES = [
    ("Dense 784→256 (nn.Linear)", (256, 784), "torch", (784, 256)),
    ("Conv2D 3×3, 64→128 (nn.Conv2d)", (128, 64, 3, 3), "torch", (3, 3, 64, 128)),
    ("DepthwiseConv2D 3×3, 256 ch (nn.Conv2d groups=256)", (256, 1, 3, 3), Depthwise(1),
     (3, 3, 256, 1)),
    ("Embedding 10000×128 (nn.Embedding)", (10000, 128), "embedding", (10000, 128)),
]


def timm_trunc_normal_tf_(t: torch.Tensor, mean: float = 0.0, std: float = 1.0,
                          a: float = -2.0, b: float = 2.0,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """timm semantics: N(0, 1) cut at [a, b], then ``* std + mean`` (cut relative to std)."""
    with torch.no_grad():
        out = torch.empty_like(t)
        filled = 0
        flat = out.view(-1)
        while filled < flat.numel():
            x = torch.randn(2 * (flat.numel() - filled) + 16, generator=generator)
            x = x[(x >= a) & (x <= b)][: flat.numel() - filled]
            flat[filled:filled + x.numel()] = x
            filled += x.numel()
        t.copy_(out * std + mean)
    return t


def timm_variance_scaling_(t: torch.Tensor, scale: float = 1.0, mode: str = "fan_in",
                           distribution: str = "truncated_normal",
                           generator: torch.Generator | None = None) -> torch.Tensor:
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(t)
    denom = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / denom
    if distribution == "truncated_normal":
        return timm_trunc_normal_tf_(t, std=math.sqrt(variance) / 0.87962566103423978,
                                     generator=generator)
    raise ValueError(distribution)


def timm_lecun_normal_(t: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return timm_variance_scaling_(t, mode="fan_in", distribution="truncated_normal",
                                  generator=generator)


_KERAS_TORCH = """
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras
out = {}
for i, shape in enumerate(json.loads(sys.argv[1])):
    w = keras.initializers.LecunNormal(seed=i)(tuple(shape))
    w = keras.ops.convert_to_numpy(w)
    out[str(i)] = [float(w.std()), float(abs(w).max())]
print(json.dumps(out))
"""


def keras_on_torch() -> dict[str, list[float]] | None:
    shapes = json.dumps([list(c[3]) for c in CASES])
    try:
        res = subprocess.run([sys.executable, "-c", _KERAS_TORCH, shapes], capture_output=True,
                             text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _fmt(t: torch.Tensor) -> str:
    return f"{t.std().item():.4f} / {t.abs().max().item():.4f}"


def main() -> None:
    kt = keras_on_torch()
    print("| parameter | Keras closed form std | kerasinit | timm lecun_normal_ (reimpl.) "
          "| torch kaiming_normal_(linear) | Keras 3 on torch (Keras shape) |")
    print("|---|---|---|---|---|---|")
    for i, (label, shape, layout, _) in enumerate(CASES):
        g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
        exact = kerasinit.describe("lecun_normal", shape, layout=layout)
        ki = kerasinit.lecun_normal_(torch.empty(shape), layout=layout, generator=g())
        tm = timm_lecun_normal_(torch.empty(shape), generator=g())
        tn = torch.nn.init.kaiming_normal_(torch.empty(shape), nonlinearity="linear",
                                           generator=g())
        k = "n/a" if kt is None else f"{kt[str(i)][0]:.4f} / {kt[str(i)][1]:.4f}"
        print(f"| {label} | {exact.distribution.realised_std:.4f} | {_fmt(ki)} | {_fmt(tm)} | "
              f"{_fmt(tn)} | {k} |")


if __name__ == "__main__":
    main()
