"""Hatch build hook: compile the message catalogues (``portal/translations/*/LC_MESSAGES/
messages.po``) into the ``.mo`` files Flask-Babel reads, on every wheel build — a regular
``pip install``, an editable ``pip install -e .`` and ``pip wheel`` alike. The ``.mo`` files
are build output (gitignored); editing a ``.po`` and reinstalling, or running
``pybabel compile -d portal/translations``, refreshes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CATALOGUES = "portal/translations"


class CompileCatalogues(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        for po_path in sorted((root / CATALOGUES).glob("*/LC_MESSAGES/*.po")):
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=po_path.parent.parent.name)
            # Like ``pybabel compile``: fuzzy entries are left out (they need a translator).
            with po_path.with_suffix(".mo").open("wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            # Gitignored files are not packed unless listed as artifacts.
            build_data["artifacts"].append(po_path.with_suffix(".mo").relative_to(root).as_posix())
