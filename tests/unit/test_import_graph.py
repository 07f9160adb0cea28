"""The package import graph of portal/: no cycles, and no shop plugin named in the core.

Every module under portal/ is parsed (``ast``, nothing imported) and each import — at the
top or inside a function — becomes an edge between top-level parts of the portal: a
subpackage (``portal.commissions``), a module on the ground floor (``portal.money``) or the
app factory (``portal`` itself). Imports of a package's own modules stay inside it.

The cycles still left are listed edge by edge in :data:`ALLOWED`, each with what it is
and how to remove it; the graph without them must have no cycle, so a new import that
closes a loop fails here with the loop printed. An entry that no import needs any more
fails too: delete it, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import portal

ROOT = Path(portal.__file__).parent

# (importer, imported): imports that go the wrong way between layers, each closing at least
# one cycle today. From the bottom up the layers are: the ground-floor modules (security,
# i18n, formatting, storefront), accounts, audit, settings, ledger, distributors, orders,
# commissions, risk, then the packages nothing below imports (links, centre,
# notifications, materials, campaigns, withdrawals, reports, api, core).
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # The distributor's admin page shows their team and figures (the centre's): the
        # page composes every domain and belongs in a package above them.
        ("distributors", "centre"),
        # Recruitment previews the commission plan a new distributor joins under.
        ("distributors", "commissions"),
        # The buyers list, the detail page and recruitment read orders and risk flags.
        ("distributors", "orders"),
        ("distributors", "risk"),
        # The orders admin page shows their commissions and risk flags: the page composes
        # every domain and belongs in a package above them.
        ("orders", "commissions"),
        ("orders", "risk"),
    }
)

# Any of these in a module under portal/ means the core knows a shop plugin: its package,
# its name, or the shop it bridges (the core knows shops only by what plugins register
# with portal.registry — their kind, their address setting, their pages' links).
PLUGIN_PACKAGE = "plugins"
PLUGIN_NAME = "woocommerce_bridge"
SHOP_NAME = "woocommerce"
CORE_TEMPLATES = ROOT.parent / "templates"


def _part(module: str) -> str | None:
    """The top-level part of the portal a dotted module name belongs to, else None."""
    names = module.split(".")
    if names[0] != "portal":
        return None
    return names[1] if len(names) > 1 else "portal"


def _modules() -> list[tuple[str, list[str], bool, Path]]:
    """(dotted name, its parts, whether it is a package's __init__, path) of every module."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        names = ["portal", *path.relative_to(ROOT).with_suffix("").parts]
        is_package = names[-1] == "__init__"
        if is_package:
            names = names[:-1]
        found.append((".".join(names), names, is_package, path))
    return found


def _imported(node: ast.Import | ast.ImportFrom, names: list[str], is_package: bool) -> list[str]:
    """The dotted modules an import statement reaches (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = names if is_package else names[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join([*base, *([node.module] if node.module else [])])
    else:
        module = node.module or ""
    # ``from portal import bulk`` reaches portal.bulk; ``from portal.x import y`` reaches x.
    return [f"{module}.{alias.name}" for alias in node.names] if module == "portal" else [module]


def import_graph() -> dict[str, dict[str, list[str]]]:
    """importer part → imported part → the import sites (``module:line``)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, names, is_package, path in _modules():
        source = _part(module)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(node, names, is_package):
                part = _part(target)
                if part is not None and part != source:
                    graph[source][part].append(f"{module}:{node.lineno}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """One cycle through each strongly connected group of parts (Tarjan, then a path
    back to the group's first part), as the list of parts in order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for group in groups:
        start = min(group)
        paths = {start: [start]}
        todo = [start]
        while todo:  # breadth first: the shortest way round
            v = todo.pop(0)
            for w in sorted(graph[v]):
                if w == start:
                    found.append(paths[v])
                    todo = []
                    break
                if w in group and w not in paths:
                    paths[w] = [*paths[v], w]
                    todo.append(w)
    return found


def _without_allowed(graph: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    return {
        a: {b: sites for b, sites in targets.items() if (a, b) not in ALLOWED}
        for a, targets in graph.items()
    }


def test_no_import_cycles_between_packages() -> None:
    graph = _without_allowed(import_graph())
    found = cycles(graph)
    report = []
    for cycle in found:
        report.append(" → ".join([*cycle, cycle[0]]))
        for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            report.append(f"    {a} → {b}: {', '.join(graph[a][b][:3])}")
    assert not found, "import cycles between portal packages:\n" + "\n".join(report)


def test_allowed_cycles_are_still_needed() -> None:
    graph = import_graph()
    stale = sorted(edge for edge in ALLOWED if edge[1] not in graph.get(edge[0], {}))
    assert not stale, f"no module imports these any more: delete them from ALLOWED: {stale}"


def test_the_core_names_no_shop_plugin() -> None:
    offenders = []
    for module, names, is_package, path in _modules():
        source = path.read_text()
        if PLUGIN_NAME in source:
            offenders.append(f"{module} names {PLUGIN_NAME!r}")
        for node in ast.walk(ast.parse(source, str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _imported(node, names, is_package):
                    if target.split(".")[0] == PLUGIN_PACKAGE:
                        offenders.append(f"{module}:{node.lineno} imports {target}")
    assert not offenders, "\n".join(offenders)


def _naming_the_shop(path: Path) -> list[str]:
    """``path:line`` of each line naming the shop, in any case (code, strings, comments)."""
    return [
        f"{path}:{number}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SHOP_NAME in line.casefold()
    ]


def test_the_core_names_no_shop() -> None:
    """Not in a module under portal/ (identifiers, string literals, comments alike) nor in
    the core's templates: the shop's name, labels and pages come from its plugin."""
    offenders = [site for *_, path in _modules() for site in _naming_the_shop(path)]
    offenders += [
        site for path in CORE_TEMPLATES.rglob("*.html") for site in _naming_the_shop(path)
    ]
    assert not offenders, "the core names the shop:\n" + "\n".join(offenders)


def test_the_shop_check_sees_identifiers_and_strings(tmp_path: Path) -> None:
    """The checker itself."""
    module = tmp_path / "m.py"
    module.write_text('x = 1\nkind = "WooCommerce"\nwoocommerce_id = 2\n')
    assert _naming_the_shop(module) == [f"{module}:2", f"{module}:3"]


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    """The checker itself: a cycle through a function-level import is found."""
    tree = ast.parse("def f():\n    from portal.ledger import services\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _imported(node, ["portal", "commissions", "x"], False) == ["portal.ledger"]
    relative = ast.parse("from ..ledger import models\n").body[0]
    assert isinstance(relative, ast.ImportFrom)
    assert _imported(relative, ["portal", "commissions", "x"], False) == ["portal.ledger"]
    assert cycles({"a": {"b": ["a:1"]}, "b": {"a": ["b:1"]}}) == [["a", "b"]]
    assert cycles({"a": {"b": ["a:1"]}, "b": {}}) == []
