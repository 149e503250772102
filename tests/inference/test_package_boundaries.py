"""inference/ is a plain package: nothing below it may import Django or the apps (DESIGN.md §1)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "inference"
FORBIDDEN = ("django", "apps", "narcis_site", "ninja", "channels")


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_django_or_app_imports_in_inference():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(imported_roots(path) & set(FORBIDDEN))
        for path in PACKAGE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
