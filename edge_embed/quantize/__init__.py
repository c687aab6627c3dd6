"""Build side: quantize artifact folders (needs ``edge-embed[build]``: onnxruntime's quantizer needs ``onnx``).

``edge_embed.quantize.config`` is standard library only (settings are validated on any install); the quantizer
is imported, and ``onnx`` required, on first use of :func:`quantize_artifact`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge_embed.errors import GateError
from edge_embed.quantize.config import (
    ActivationScale,
    CalibrationMethod,
    CpuTarget,
    GraphOptimization,
    Method,
    QuantizationConfig,
)

if TYPE_CHECKING:
    from edge_embed.quantize.quantizer import QuantizeResult, quantize_artifact

__all__ = [
    "ActivationScale",
    "CalibrationMethod",
    "CpuTarget",
    "GateError",
    "GraphOptimization",
    "Method",
    "QuantizationConfig",
    "QuantizeResult",
    "quantize_artifact",
]


def __getattr__(name: str) -> Any:
    if name in ("QuantizeResult", "quantize_artifact"):
        from edge_embed._extras import require_build

        require_build("edge_embed.quantize", ("onnx",))
        from edge_embed.quantize import quantizer

        return getattr(quantizer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
