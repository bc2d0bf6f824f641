"""The layers stay honest: import-linter's contracts from pyproject.toml, run on every feature.

Features are found (a top-level package with a feature.py), so a new one is covered without
an edit to pyproject.toml: the test adds it to each contract's feature list.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ("bot", "cityhall", "models")
SHELL = "staff"


def discovered_features(root: Path = ROOT) -> list[str]:
    """Return the top-level packages that declare a feature."""
    return sorted(p.parent.name for p in root.glob("*/feature.py")
                  if (p.parent / "__init__.py").is_file())


def contracts_config(features: list[str], extra_root: list[str] = ()) -> str:
    """Return pyproject's import-linter settings as TOML, with every feature in every list."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    others = [f for f in features if f != SHELL]
    roots = sorted({*settings["root_packages"], *features, *extra_root})
    lines = ["[tool.importlinter]", f"root_packages = {roots!r}"]
    for contract in settings["contracts"]:
        contract = dict(contract)
        if contract["id"] == "core":
            contract["forbidden_modules"] = sorted({*contract["forbidden_modules"], *features})
        elif contract["id"] == "shell":
            contract["forbidden_modules"] = sorted({*contract["forbidden_modules"], *others})
        elif contract["id"] == "features":
            contract["modules"] = sorted({*contract["modules"], *others})
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {_toml(value)}" for key, value in contract.items()]
    return "\n".join(lines) + "\n"


def _toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml(v) for v in value) + "]"


def lint_imports(config: str, tmp_path: Path, pythonpath: list[Path] = ()) -> subprocess.CompletedProcess:
    path = tmp_path / "importlinter.toml"
    path.write_text(config)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in [*pythonpath, ROOT]))
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--config", str(path), "--no-cache"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_four_features_are_found():
    assert {"staff", "residents", "checkin", "dashboards"} <= set(discovered_features())


def test_import_contracts_hold(tmp_path):
    result = lint_imports(contracts_config(discovered_features()), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_modules_import_no_feature_even_inside_a_function():
    """What the issue's `git grep` asks, and more: indented (lazy) imports count too."""
    features = set(discovered_features())
    found = []
    for package in CORE:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) and not
                         node.level else [])
                found += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                          if name.split(".")[0] in features]
    assert found == []


@pytest.mark.parametrize("offence, expected", [
    ("from residents.chat import router\n", "intruder.chat -> residents.chat"),
    ("from residents.services import guardian_of\n", None),
    ("from checkin.signals import visit_started\n", None),
])
def test_a_new_feature_reaching_into_another_is_caught(tmp_path, offence, expected):
    package = tmp_path / "src" / "intruder"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "feature.py").write_text("from cityhall.features import Feature\n"
                                        "feature = Feature('intruder')\n")
    (package / "chat.py").write_text(offence)
    features = [*discovered_features(), "intruder"]
    result = lint_imports(contracts_config(features), tmp_path, [tmp_path / "src"])
    if expected is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode != 0 and expected in result.stdout, result.stdout

