"""Embed a whole corpus into ``OUT.parquet`` on one of the engines, in shards, resumable after a kill."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import InputError
from edge_embed.index.documents import read_documents
from edge_embed.lineage.manifest import manifest_sha256, read_manifest
from edge_embed.scale.engines import EngineName, EngineSettings, Shard, run_engine
from edge_embed.scale.output import JobKey, PartsFolder
from edge_embed.scale.worker import WorkerSettings

logger = logging.getLogger(__name__)
DEFAULT_SHARD_SIZE = 10_000


@dataclass(frozen=True)
class CorpusJob:
    """What one run of a job did."""

    output: Path
    engine: EngineName
    passages: int
    shards: int
    resumed_shards: int  # finished by an earlier, interrupted run and not embedded again
    seconds: float
    manifest_sha256: str

    @property
    def passages_per_s(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0


def embed_corpus(
    artifact: str | Path,
    corpus: str | Path,
    output: str | Path,
    engine: EngineName | str = EngineName.LOCAL,
    *,
    workers: int | None = None,
    threads: int | None = None,
    address: str | None = None,
    batch_size: int = 32,
    shard_size: int = DEFAULT_SHARD_SIZE,
    dim: int | None = None,
    text_field: str = "text",
    id_field: str = "_id",
    overwrite: bool = False,
    show_progress: bool = False,
    install_root: str | Path | None = None,
) -> CorpusJob:
    """Embed every passage of ``corpus`` (BEIR folder, ``.jsonl``, ``.parquet`` or text lines) as a document and
    write ``output`` (Parquet: ``id``, ``embedding``) once all shards are done.

    ``artifact`` is a folder every worker can read at that path, or a bundle (``edge-embed package``): its bytes
    travel with the tasks and each worker process installs and verifies it once, so no shared filesystem is needed.

    Args:
        engine: ``local`` (one process), ``ray`` or ``spark``; the same worker code runs on each.
        workers: Worker processes (Ray actors, Spark tasks); local: 1. Default: cores / threads.
        threads: onnxruntime threads per worker. Default: 1 per worker on a cluster engine, every core locally.
        address: The cluster (Ray: ``auto`` or ``ray://host:10001``; Spark: a master URL); None starts a local one.
        shard_size: Passages per shard: the unit written as it completes, and skipped when a killed job reruns.
        install_root: Where workers unpack a bundle, once per machine and artifact (reused by later jobs);
            default ``edge-embed-artifacts-<uid>`` in the system's temporary folder.

    Raises:
        InputError: For a missing corpus or text column, an existing output (without ``overwrite``), bad
            settings or an unreachable cluster.
        IntegrityError: If a worker's copy of the artifact fails verification.
    """
    engine = EngineName(engine)
    output, artifact = Path(output), Path(artifact)
    if output.suffix != ".parquet":
        raise InputError(f"{output}: the output must be a .parquet file")
    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; pass --overwrite to replace it")
    for name, value in (
        ("batch_size", batch_size),
        ("shard_size", shard_size),
        ("workers", workers),
        ("threads", threads),
    ):
        if value is not None and value < 1:
            raise InputError(f"{name} must be a positive integer, got {value}")
    cores = os.cpu_count() or 1
    if engine is EngineName.LOCAL:
        workers, threads = 1, threads or cores
    else:
        threads = threads or 1
        workers = workers or max(cores // threads, 1)
    bundle = artifact.read_bytes() if artifact.is_file() else None
    with _verified_folder(artifact) as folder:  # a clear error for no artifact, before any cluster starts
        sha = manifest_sha256(folder)
    documents = read_documents(corpus, text_field, id_field)
    ids = [d.id for d in documents]
    parts = PartsFolder(output, JobKey.of(sha, ids, shard_size, dim))
    shards = [
        Shard(i, ids[start : start + shard_size], [d.embedded_text for d in documents[start : start + shard_size]])
        for i, start in enumerate(range(0, len(documents), shard_size))
    ]
    done = parts.done(len(shards))
    if done:
        logger.info("resuming: %d of %d shards were finished by an earlier run", len(done), len(shards))
    todo = [s for s in shards if s.index not in done]
    started = time.perf_counter()
    settings = WorkerSettings(
        str(artifact.absolute()),
        sha,
        threads=threads,
        batch_size=batch_size,
        dim=dim,
        bundle=bundle,
        install_root=None if install_root is None else str(Path(install_root).absolute()),
    )
    bar = _bar(sum(len(s.ids) for s in todo), show_progress)
    try:

        def write(shard: Shard, vectors: np.ndarray) -> None:
            parts.write(shard.index, shard.ids, vectors)
            bar.update(len(shard.ids))

        run_engine(engine, todo, settings, EngineSettings(workers, address), write)
    finally:
        bar.close()
    metadata = {
        "artifact": str(artifact.absolute()),
        "manifest_sha256": sha,
        "corpus": str(Path(corpus).absolute()),
        "passages": len(ids),
        "dim": dim,
        "engine": engine.value,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    parts.finish(len(shards), metadata)
    return CorpusJob(output, engine, len(ids), len(shards), len(done), time.perf_counter() - started, sha)


@contextmanager
def _verified_folder(artifact: Path) -> Iterator[Path]:
    """The artifact folder itself, or a bundle installed (every sha256 checked) into a temporary folder."""
    if not artifact.is_file():
        read_manifest(artifact)
        yield artifact
        return
    from edge_embed.deploy.bundle import install_artifact

    with tempfile.TemporaryDirectory(prefix="edge-embed-bundle-") as tmp:
        yield install_artifact(artifact, Path(tmp) / "artifact")


def _bar(total: int, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="passage", desc="embedding corpus", disable=not show)
