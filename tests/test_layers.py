"""The layering rule of docs/architecture.md, enforced on every import statement in the
package (module level and inside functions): a module imports only from its own layer or
the layers below it, and no stage imports another stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "toolkit"
STAGE_PACKAGES = ("corpus", "train", "eval", "export", "report")

# Top to bottom; a module imports only from its own layer or a lower one.
LAYERS = [
    ("cli", {"toolkit.cli"}),
    ("stages", {f"toolkit.{s}" for s in STAGE_PACKAGES}),
    ("shared cores", {"toolkit.korean", "toolkit.models", "toolkit.generation", "toolkit.plots",
                      "toolkit.tiny_model", "toolkit.endpoints"}),
    ("recipe, artifacts, tracking", {"toolkit.recipe", "toolkit.artifacts", "toolkit.tracking",
                                     "toolkit.audit", "toolkit.stages", "toolkit.signing",
                                     "toolkit.plugins", "toolkit.safe_yaml"}),
    ("errors, console", {"toolkit", "toolkit.errors", "toolkit.console"}),
]


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, the layer's owning prefix) of a toolkit module name."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[1]):
                    best = (index, prefix)
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS and the doc"
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every `toolkit` import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "toolkit"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] == "toolkit":
                if node.module is None or name == "toolkit":
                    found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
                else:
                    found.append((node.lineno, name))
    return found


def violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        my_layer, my_prefix = layer_of(me)
        for line, target in imported(path):
            if target == "toolkit" or target.startswith("toolkit.__"):
                continue
            their_layer, their_prefix = layer_of(target)
            where = f"{path.relative_to(REPO)}:{line} imports {target}"
            if their_layer < my_layer:
                problems.append(f"{where}: {LAYERS[my_layer][0]} may not import "
                                f"{LAYERS[their_layer][0]}")
            elif my_layer == 1 and their_layer == 1 and their_prefix != my_prefix:
                problems.append(f"{where}: a stage never imports another stage")
    return problems


def test_layers_point_down_only_and_no_stage_imports_another():
    assert violations() == []


@pytest.mark.parametrize("source, expected", [
    ("from toolkit.eval.metrics import score\n", "a stage never imports another stage"),
    ("from toolkit.cli import main\n", "may not import cli"),
])
def test_the_layering_check_catches_a_violation(tmp_path, monkeypatch, source, expected):
    """The rule can fail: a planted import from export into eval, or from a stage up
    into the CLI, is reported with its file and line."""
    fake = PACKAGE / "export" / "_planted_violation.py"
    fake.write_text(source, encoding="utf-8")
    try:
        found = violations()
    finally:
        fake.unlink()
    assert any("_planted_violation.py:1" in p and expected in p for p in found), found
