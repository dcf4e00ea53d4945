"""Build script for kerasinit's optional C accelerators (everything else is in pyproject.toml).

The two extensions compute the seed-faithful samplers (``rng="tensorflow"`` and ``rng="jax"``)
in C. They are optional: when no C compiler is available the build skips them and kerasinit
uses its NumPy implementation of the same arithmetic (bit-identical, slower).

Floating-point contraction is turned off: the emulated TensorFlow and XLA formulas round
after every float operation, and a compiler-fused multiply-add would change their last bits.
Explicit FMAs are written as ``fma``/``fmaf`` calls, which are correctly rounded.
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    _FLAGS = ["/O2", "/fp:precise"]
else:
    _FLAGS = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"]


def _extension(name: str) -> Extension:
    return Extension(
        f"kerasinit.bridge.rng.{name}",
        sources=[f"kerasinit/bridge/rng/{name}.c"],
        extra_compile_args=_FLAGS,
        libraries=[] if sys.platform == "win32" else ["m"],
        optional=True,
    )


setup(ext_modules=[_extension("_tf_native"), _extension("_jax_native")])
