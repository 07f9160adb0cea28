"""Where the top-level resource folders live.

The design fixes ``templates/`` and ``migrations/`` at the repository root. In a source
checkout (and an editable install) they sit beside the ``portal`` package; a built wheel
carries them inside the package as ``_templates`` / ``_migrations``.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` from the source tree, or its copy inside the wheel."""
    in_tree = PACKAGE_DIR.parent / name
    if in_tree.is_dir():
        return in_tree
    return PACKAGE_DIR / f"_{name}"
