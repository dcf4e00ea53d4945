"""README links resolve inside the repository and the sdist; no unverified project URL."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_readme_links_point_at_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t]
    assert len(local) >= 10
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, missing
    assert "github.com/kerasinit" not in readme  # the guessed address is gone


def test_metadata_claims_no_unverified_address() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "\n[project.urls]" not in pyproject and "https://" not in pyproject
    assert "Project address" in (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
