"""docs/porting.md is not stale: its plan, report and error blocks are what the code prints."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from kerasinit.cli import main
from kerasinit.porting import PlanMismatchError

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "porting.md"


def _blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _inspect(path: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["inspect", path]) == 0
    return out.getvalue()


def test_console_blocks_match_kerasinit_inspect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    consoles = [body for lang, body in _blocks() if lang == "console"]
    assert len(consoles) == 2
    for body in consoles:
        command, _, shown = body.partition("\n")
        path = command.removeprefix("$ kerasinit inspect ")
        printed = _inspect(path)
        if shown.strip().startswith("Keras initializer plan"):
            assert shown.rstrip() == printed.rstrip()
        else:  # an excerpt: every shown line is printed
            for line in shown.strip().splitlines():
                assert line in ("", "...") or line in printed.splitlines(), line


def test_python_blocks_print_what_the_doc_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    blocks = _blocks()
    python = [i for i, (lang, _) in enumerate(blocks) if lang == "python"]
    twin, wrong = python[1], python[2]  # python[0] is the Keras model (not run here)
    namespace: dict[str, object] = {"__name__": "porting_doc"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[twin][1], str(DOC), "exec"), namespace)
    assert blocks[twin + 1][0] == "text"
    assert out.getvalue().rstrip() == blocks[twin + 1][1].rstrip()
    with pytest.raises(PlanMismatchError) as info:
        exec(compile(blocks[wrong][1], str(DOC), "exec"), namespace)
    assert str(info.value).rstrip() == blocks[wrong + 1][1].rstrip()
    assert os.path.exists(ROOT / "tests" / "data" / "porting" / "keras3_convnet.keras")
