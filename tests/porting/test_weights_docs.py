"""docs/porting.md section 6 is not stale: its text blocks are what examples/port_weights.py
prints (numbers below 1e-4 may differ in the last digits between machines, so every number is
compared after rounding to the tolerance's scale)."""

from __future__ import annotations

import contextlib
import io
import re
import runpy
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="needs TensorFlow/Keras (the parity extra)")
pytest.importorskip("h5py", reason="reading weights needs h5py (the porting extra)")

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.tf]


def _normalise(text: str) -> list[str]:
    def small(match: re.Match[str]) -> str:
        value = float(match.group(0))
        return "<1e-4" if abs(value) < 1e-4 else f"{value:.2g}"
    number = r"\d+(?:\.\d+)?(?:e[-+]?\d+)?"
    return [re.sub(r"\s+", " ", re.sub(number, small, line)).strip()
            for line in text.strip().splitlines() if line.strip()]


def test_section_six_shows_what_the_example_prints() -> None:
    doc = (ROOT / "docs" / "porting.md").read_text(encoding="utf-8")
    start = doc.index("## 7. Move trained weights")
    end = doc.find("\n## ", start + 1)
    section = doc[start:] if end < 0 else doc[start:end]
    blocks = re.findall(r"```text\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 3  # the example's two, then examples/port_application.py's (slow)
    blocks = blocks[:2]
    example = (ROOT / "examples" / "port_weights.py").read_text(encoding="utf-8")
    assert example[example.index("# A Keras model"):].strip() in section
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(ROOT / "examples" / "port_weights.py"), run_name="example")
    assert _normalise("\n\n".join(blocks)) == _normalise(out.getvalue())
