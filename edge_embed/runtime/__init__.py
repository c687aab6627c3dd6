"""The device side: embed with an artifact folder using onnxruntime, tokenizers and numpy only."""

from edge_embed.runtime.embedder import Embedder, TextKind

__all__ = ["Embedder", "TextKind"]
