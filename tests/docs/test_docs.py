"""Generated docs are not stale: README and docs/table.md match `kerasinit table --format md`."""

from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


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


def test_versions_doc_is_current() -> None:
    assert (ROOT / "docs" / "versions.md").read_text(encoding="utf-8") == _gen().versions_doc(), (
        "docs/versions.md is stale: run `python scripts/gen_docs.py`")


def test_cli_table_lists_every_row() -> None:
    from kerasinit.cli import main
    from kerasinit.mappings.table import ROWS
    from kerasinit.table_cli import render

    text = render("text")
    for name in ROWS:
        assert f"\n{name}" in "\n" + text
    assert main(["table", "--format", "json"]) == 0


def test_site_index_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (ROOT / "docs" / "index.md").read_text(encoding="utf-8") == _gen().index_doc(readme), (
        "docs/index.md is stale: run `python scripts/gen_docs.py`")


def test_site_nav_lists_every_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert pages and all(f": {page}\n" in nav for page in pages), (pages, nav)


def test_site_builds_strict(tmp_path: pathlib.Path) -> None:
    """`mkdocs build --strict` fails on a broken link or a page missing from the nav."""
    import pytest

    pytest.importorskip("mkdocs")
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                    str(tmp_path / "site")], cwd=ROOT, check=True)
    assert (tmp_path / "site" / "index.html").is_file()
