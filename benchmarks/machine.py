"""Describe the machine a benchmark ran on (CPU model and flags, cores, library versions)."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_embed.cpu import cpu_flags, cpu_model
from edge_embed.versions import package_versions

FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "avx_vnni", "neon", "asimd")


def describe_machine() -> dict[str, Any]:
    """Return CPU model, the SIMD flags that matter for int8/bf16, usable cores and library versions."""
    return {
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "flags": sorted(f for f in FLAGS_OF_INTEREST if f in cpu_flags()),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "versions": package_versions(),
    }


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
