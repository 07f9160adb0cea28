"""axe-core in the browser tests: fetched with npm (tests/browser/package.json), injected with
``page.evaluate`` (evaluation is not subject to the page's Content-Security-Policy, a
``<script>`` tag would be) and run on the page as it stands."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from tests.helpers import unavailable

HERE = Path(__file__).parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
# Serious and critical violations fail a test; moderate and minor ones are advice.
FAILING_IMPACTS = ("serious", "critical")


@cache
def axe_source() -> str:
    """The axe-core script, installed from the lock file on first use (``npm ci``)."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not installed: it fetches axe-core (tests/browser/package.json)")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not AXE_JS.exists():
            unavailable(f"npm ci could not install axe-core: {done.stderr.strip()[-2000:]}")
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Any, where: str = "") -> list[str]:
    """The page's serious and critical axe violations, one readable line per rule: rule id,
    impact, help text and the CSS targets of the offending nodes."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    label = where or page.url
    return [
        f"{label}: {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:8])
        for v in result["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]
