"""The README and docs/ must work from a clone: every file they point to is in the project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A markdown link target, or a backticked path that names a docs page or an image.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
NAMED = re.compile(r"`((?:docs|bench|tests|emulator)/[\w./-]+\.(?:md|py|png))`")


def _targets(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    found = {m for m in LINK.findall(text) if "://" not in m and not m.startswith("mailto:")}
    return found | set(NAMED.findall(text))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_pointer_resolves_inside_the_project(page):
    missing = []
    for target in _targets(page):
        here = (page.parent / target).resolve()
        from_root = (ROOT / target).resolve()
        if not (here.exists() or from_root.exists()):
            missing.append(target)
    assert not missing, f"{page.name} points to files a clone does not have: {missing}"


def test_no_page_points_outside_the_project():
    outside = [p.name for p in PAGES if "../shared" in p.read_text(encoding="utf-8")]
    assert outside == []


def test_no_file_keeps_a_merge_conflict_marker():
    """A merge resolved in a hurry once left its markers in a page; none may remain."""
    skip = {".venv", ".git", "node_modules", "instance", "vendor"}
    marker = re.compile(r"^(<<<<<<< |>>>>>>> )", re.M)
    kept = []
    for path in ROOT.rglob("*"):
        if (path.suffix in {".md", ".py", ".html", ".po", ".yaml", ".yml", ".toml", ".cfg", ".js",
                            ".css"} and not skip & set(path.relative_to(ROOT).parts)
                and path.is_file() and marker.search(path.read_text(encoding="utf-8",
                                                                    errors="replace"))):
            kept.append(str(path.relative_to(ROOT)))
    assert kept == []
