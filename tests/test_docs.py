"""Generated docs are not stale: README and docs/table.md match `kerasinit table --format md`."""

from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _gen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_doc_is_current() -> None:
    assert (ROOT / "docs" / "table.md").read_text(encoding="utf-8") == _gen().table_doc(), (
        "docs/table.md is stale: run `python scripts/gen_docs.py`")


def test_readme_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == _gen().readme_with_table(readme), (
        "README.md table is stale: run `python scripts/gen_docs.py`")


def test_cli_table_lists_every_row() -> None:
    from kerasinit.cli import main
    from kerasinit.mappings.table import ROWS
    from kerasinit.table_cli import render

    text = render("text")
    for name in ROWS:
        assert f"\n{name}" in "\n" + text
    assert main(["table", "--format", "json"]) == 0
