"""Jobs for worker tests (importable by a ``portal worker`` subprocess)."""

from __future__ import annotations

import time
from pathlib import Path


def slow_marker(path: str, seconds: float) -> str:
    """Mark the start, take a while, mark the end: shows whether a job ran to its end."""
    Path(path + ".started").write_text("started")
    time.sleep(seconds)
    Path(path).write_text("done")
    return "done"
