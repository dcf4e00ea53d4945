"""The Python examples in docs/layers.md run (so the porting guide cannot go stale)."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "layers.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_doc_has_examples() -> None:
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_runs(index: int) -> None:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(BLOCKS[index], f"docs/layers.md[{index}]", "exec"), {})
    if "print(report" in BLOCKS[index]:
        assert "kerasinit:" in out.getvalue()
