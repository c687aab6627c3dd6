"""Describe the machine a measurement ran on: CPU model and the flags that matter, cores, library versions."""

from __future__ import annotations

import os
import platform
from typing import Any

from edge_embed.cpu import cpu_flags, cpu_model
from edge_embed.versions import package_versions

FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "avx_vnni", "neon", "asimd")


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def describe_machine(threads: int | None = None) -> dict[str, Any]:
    """CPU model, its SIMD flags for int8/bf16, usable cores, threads used and library versions."""
    return {
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "flags": sorted(f for f in FLAGS_OF_INTEREST if f in cpu_flags()),
        "cores_usable": usable_cores(),
        "threads": threads or usable_cores(),
        "python": platform.python_version(),
        "versions": package_versions(),
    }
