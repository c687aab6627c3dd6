"""Build side: export checkpoints to ONNX artifact folders (needs ``edge-embed[build]``)."""

from edge_embed._extras import require_build

require_build("edge_embed.export")

from edge_embed.export.exporter import export_artifact  # noqa: E402
from edge_embed.export.source import ExportSource, resolve_source  # noqa: E402

__all__ = ["ExportSource", "export_artifact", "resolve_source"]
