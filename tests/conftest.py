"""Shared test configuration: quiet TensorFlow, headless matplotlib, restore torch state."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_torch_state() -> Iterator[None]:
    """Every test starts from the same global RNG state and thread count, and leaves them so."""
    threads = torch.get_num_threads()
    state = torch.get_rng_state()
    torch.manual_seed(0)
    yield
    torch.set_rng_state(state)
    torch.set_num_threads(threads)
