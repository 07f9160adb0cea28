"""Views parse the request, call one service and render: the view modules listed here
build no query and touch no session (models are imported for their enums and type hints
only). The list may only grow, as more view modules move their queries into services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUERY_FREE = (
    "portal/risk/views.py",
    "portal/materials/views.py",
    "portal/reports/views.py",
    "plugins/woocommerce_bridge/admin.py",
)


def _uses(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {"select", "sa.select"}:
            found.append(f"line {node.lineno}: select(")
        elif isinstance(node, ast.Attribute) and ast.unparse(node) == "db.session":
            found.append(f"line {node.lineno}: db.session")
        elif isinstance(node, ast.Attribute) and node.attr == "query":
            found.append(f"line {node.lineno}: .query")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found.append(f"line {node.lineno}: imports {node.module}")
    return found


@pytest.mark.parametrize("where", QUERY_FREE)
def test_the_view_module_builds_no_query(where: str) -> None:
    path = ROOT / where
    assert _uses(ast.parse(path.read_text(encoding="utf-8"), where)) == []
