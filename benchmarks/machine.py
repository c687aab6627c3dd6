"""Describe the machine a benchmark ran on (CPU model and flags, cores, library versions)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_embed.bench.machine import describe_machine

__all__ = ["describe_machine", "write_result"]


def write_result(path: Path, name: str, payload: dict[str, Any]) -> None:
    """Write a benchmark's result JSON with when and where it was measured."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **payload,
        "machine": describe_machine(),
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")  # noqa: T201
