"""One naming rule for the modules that hold pages, and forms only in forms modules.

Under portal/ (parsed with ``ast``, nothing imported):

* a blueprint is a module-level name ``public`` (anyone), ``me`` (signed-in distributors,
  made by ``distributor_blueprint``) or ``admin`` (staff, made by ``staff_blueprint``);
* the module holding it is ``views.py`` or ``admin.py``, or ``<topic>_views.py`` /
  ``<topic>_admin.py`` when a package has several — so the file says who reaches it;
* every blueprint of a package is in the package's ``blueprints()``, which the app
  factory loops over (checked on the app: a blueprint left out is a page nobody reaches);
* a WTForms form class is defined in ``forms.py`` or ``<topic>_forms.py``.

The ground floor's two single routes (the language switch in ``i18n``, ``/metrics``) are
registered by their own ``init_app`` and are not domains.
"""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path

import portal

ROOT = Path(portal.__file__).parent
MAKERS = {"Blueprint": "public", "distributor_blueprint": "me", "staff_blueprint": "admin"}
GROUND_FLOOR = {"i18n.py", "metrics.py"}


def _modules() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(), str(path)))
        for path in sorted(ROOT.rglob("*.py"))
        if "translations" not in path.parts
    ]


def _blueprints(tree: ast.Module) -> list[tuple[str, str]]:
    """(variable, maker) for each module-level ``name = maker(...)`` making a blueprint."""
    found = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        func = node.value.func
        maker = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if maker in MAKERS:
            found += [(t.id, maker) for t in node.targets if isinstance(t, ast.Name)]
    return found


def _is_view_module(name: str) -> bool:
    return name in {"views", "admin"} or name.endswith(("_views", "_admin"))


def test_blueprints_are_named_for_who_reaches_them() -> None:
    wrong = []
    for path, tree in _modules():
        if path.parent == ROOT and path.name in GROUND_FLOOR:
            continue
        for variable, maker in _blueprints(tree):
            where = path.relative_to(ROOT)
            if not _is_view_module(path.stem):
                wrong.append(f"{where}: a blueprint in a module not named *views/*admin")
            if variable != MAKERS[maker]:
                wrong.append(f"{where}: {maker}(...) is named {variable!r}, not {MAKERS[maker]!r}")
    assert wrong == []


def test_every_blueprint_is_registered_through_its_package(app) -> None:
    registered = {id(bp) for bp in app.blueprints.values()}
    through_packages = {
        id(bp) for domain in portal.DOMAINS for bp in import_module(f"portal.{domain}").blueprints()
    }
    missing = []
    for path, tree in _modules():
        if path.parent == ROOT:
            continue
        module = import_module("portal." + ".".join(path.relative_to(ROOT).with_suffix("").parts))
        for variable, _maker in _blueprints(tree):
            blueprint = getattr(module, variable)
            if id(blueprint) not in registered or id(blueprint) not in through_packages:
                missing.append(f"{module.__name__}.{variable}")
    assert missing == []


def test_forms_live_in_forms_modules() -> None:
    outside = []
    for path, tree in _modules():
        if path.stem == "forms" or path.stem.endswith("_forms"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                getattr(base, "id", getattr(base, "attr", "")) in {"Form", "FlaskForm"}
                for base in node.bases
            ):
                outside.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert outside == []
