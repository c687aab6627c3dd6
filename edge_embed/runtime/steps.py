"""Build-side hooks into an Embedder's steps: run another graph, or get the padded inputs the runtime feeds.

Quantization and benchmarks use these to compare a candidate graph with its parent on exactly the runtime's
inputs; the device-facing :class:`~edge_embed.runtime.embedder.Embedder` keeps only its embedding API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge_embed.lineage.manifest import Backend, InferencePrecision
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.graph import check_graph, open_graph


def with_graph(
    embedder: Embedder,
    model_path: str | Path,
    threads: int | None = None,
    backend: Backend = Backend.ONNXRUNTIME,
    inference_precision: InferencePrecision | None = None,
) -> Embedder:
    """An embedder running another graph with ``embedder``'s tokenizer, output and recipe (e.g. a quantized candidate),
    on onnxruntime or, for an IR graph, OpenVINO.

    Raises:
        ArtifactError: If the engine cannot load the graph or it lacks the manifest's output.
    """
    graph = dataclasses.replace(embedder.manifest.graph, backend=backend, inference_precision=inference_precision)
    runner = open_graph(Path(model_path), graph, threads=threads)
    check_graph(runner, embedder.manifest, Path(model_path))
    return Embedder._from_parts(embedder.folder, embedder.manifest, runner, embedder._tokenizer, embedder._dim)


def padded_inputs(embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` for ``texts`` as the runtime feeds them in one batch (no prompt)."""
    return embedder._pad(embedder.tokenize(texts))
