"""What runs on each worker of every engine: the artifact loaded once per worker process, verified, and applied to
batches of texts. Ray Data calls it as a ``map_batches`` callable class; Spark as ``predict_batch_udf``'s model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_embed.errors import IntegrityError


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker loads and runs the artifact."""

    artifact: str
    manifest_sha256: str  # what the driver saw: a worker's copy must be the same artifact
    threads: int = 1  # onnxruntime threads per worker: workers x threads <= cores, or they fight over them
    batch_size: int = 32
    dim: int | None = None


class EmbedTexts:
    """Loads and verifies the artifact (every file's sha256 and the manifest's seal, then the manifest sha256 the
    driver recorded) and embeds texts as passages.

    Raises:
        IntegrityError: If the worker's copy of the artifact is damaged or is another artifact.
    """

    def __init__(self, settings: WorkerSettings) -> None:
        from edge_embed.lineage.manifest import manifest_sha256
        from edge_embed.runtime.embedder import Embedder

        host = os.uname().nodename
        try:
            self.embedder = Embedder.load(settings.artifact, threads=settings.threads, dim=settings.dim)
        except IntegrityError as exc:
            raise IntegrityError(
                f"worker {host} pid {os.getpid()}: its copy of the artifact fails verification: {exc}"
            ) from None
        found = manifest_sha256(Path(settings.artifact))
        if found != settings.manifest_sha256:
            raise IntegrityError(
                f"worker {host} pid {os.getpid()}: {settings.artifact} is artifact {found[:12]}…, not the "
                f"{settings.manifest_sha256[:12]}… the job was started with; give every worker the same artifact"
            )
        self.batch_size = settings.batch_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Passage embeddings, float32, one row per text."""
        return self.embedder.embed(list(texts), batch_size=self.batch_size).astype(np.float32, copy=False)
