"""Seed-faithful sampling hook (``rng="tensorflow"`` / ``"keras-torch"``).

Implemented by :mod:`kerasinit.bridge.rng` (issue: seed-faithful mode). This module is the
single entry point the :class:`~kerasinit.bridge.initializer.Initializer` calls.
"""

from __future__ import annotations

import torch

from kerasinit.mappings.errors import InitializerArgumentError
from kerasinit.mappings.resolve import Resolved
from kerasinit.mappings.versions import KerasVersion

__all__ = ["sample_keras"]


def sample_keras(
    resolved: Resolved,
    *,
    seed: int | None,
    call_index: int,
    rng: str,
    keras_version: KerasVersion,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """Keras's exact values for ``resolved`` (in Keras layout, shape ``resolved.keras_shape``)."""
    raise InitializerArgumentError(
        f"rng={rng!r} (seed-faithful mode) is not available in this build yet; use rng='torch'."
    )
