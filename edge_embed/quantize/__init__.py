"""Build side: quantize artifact folders (needs ``edge-embed[build]``: onnxruntime's quantizer needs ``onnx``)."""

from edge_embed._extras import require_build

require_build("edge_embed.quantize", ("onnx",))

from edge_embed.errors import GateError  # noqa: E402
from edge_embed.quantize.config import (  # noqa: E402
    CalibrationMethod,
    CpuTarget,
    GraphOptimization,
    Method,
    QuantizationConfig,
)
from edge_embed.quantize.quantizer import QuantizeResult, quantize_artifact  # noqa: E402

__all__ = [
    "CalibrationMethod",
    "CpuTarget",
    "GateError",
    "GraphOptimization",
    "Method",
    "QuantizationConfig",
    "QuantizeResult",
    "quantize_artifact",
]
