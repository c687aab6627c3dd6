"""Build-side hooks into an Embedder's steps: run another graph, or get the padded inputs the runtime feeds.

Quantization and benchmarks use these to compare a candidate graph with its parent on exactly the runtime's
inputs; the device-facing :class:`~edge_embed.runtime.embedder.Embedder` keeps only its embedding API.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge_embed.runtime.embedder import Embedder, check_graph
from edge_embed.runtime.session import create_session


def with_graph(embedder: Embedder, model_path: str | Path, threads: int | None = None) -> Embedder:
    """An embedder running another graph with ``embedder``'s tokenizer, output and recipe (e.g. a quantized candidate).

    Raises:
        ArtifactError: If onnxruntime cannot load the graph or it lacks the manifest's output.
    """
    session = create_session(model_path, threads=threads)
    check_graph(session, embedder.manifest, Path(model_path))
    return Embedder._from_parts(embedder.folder, embedder.manifest, session, embedder._tokenizer, embedder._dim)


def padded_inputs(embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` for ``texts`` as the runtime feeds them in one batch (no prompt)."""
    return embedder._pad(embedder.tokenize(texts))
