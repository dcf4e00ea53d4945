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


def _manifest_covers(path: str, rules: list[list[str]]) -> bool:
    import fnmatch

    name = path.rsplit("/", 1)[-1]
    for rule in rules:
        if rule[0] == "include" and path in rule[1:]:
            return True
        if rule[0] == "recursive-include" and path.startswith(rule[1] + "/") and any(
                fnmatch.fnmatch(name, pattern) for pattern in rule[2:]):
            return True
    return False


def test_manifest_ships_every_tracked_file() -> None:
    """Each file git tracks reaches the sdist (the package by setuptools, the rest by
    MANIFEST.in), so the unpacked sdist can run its tests and build its docs."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (e.g. the unpacked sdist)")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    rules = [line.split() for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
             .splitlines() if line.strip() and not line.startswith("#")]
    automatic = ("kerasinit/", "pyproject.toml", "LICENSE", "README.md", "MANIFEST.in")
    missing = [p for p in tracked if not p.startswith(automatic) and p != ".gitignore"
               and not _manifest_covers(p, rules)]
    assert not missing, missing
