"""What runs on each worker of every engine: the artifact loaded once per worker process, verified, and applied to
batches of texts. Ray Data calls it as a ``map_batches`` callable class; Spark as ``predict_batch_udf``'s model."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_embed.errors import ArtifactError, IntegrityError

_INSTALLED: dict[str, Path] = {}  # sha256 of a shipped bundle -> this process's verified copy of it


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker loads and runs the artifact: a folder every worker can read at ``artifact``, or the bytes of
    its bundle (``edge-embed package``), shipped with the task and installed, verified, once per worker process."""

    artifact: str
    manifest_sha256: str  # what the driver saw: a worker's copy must be the same artifact
    threads: int = 1  # onnxruntime threads per worker: workers x threads <= cores, or they fight over them
    batch_size: int = 32
    dim: int | None = None
    bundle: bytes | None = field(default=None, repr=False)  # ships the artifact to workers without its folder


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
            folder = _install(settings) if settings.bundle is not None else Path(settings.artifact)
            self.embedder = Embedder.load(folder, threads=settings.threads, dim=settings.dim)
        except IntegrityError as exc:
            raise IntegrityError(
                f"worker {host} pid {os.getpid()}: its copy of the artifact fails verification: {exc}"
            ) from None
        found = manifest_sha256(folder)
        if found != settings.manifest_sha256:
            raise IntegrityError(
                f"worker {host} pid {os.getpid()}: {settings.artifact} is artifact {found[:12]}…, not the "
                f"{settings.manifest_sha256[:12]}… the job was started with; give every worker the same artifact"
            )
        self.batch_size = settings.batch_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Passage embeddings, float32, one row per text."""
        return self.embedder.embed(list(texts), batch_size=self.batch_size).astype(np.float32, copy=False)


def _install(settings: WorkerSettings) -> Path:
    """Unpack the shipped bundle into this process's temporary folder (once per artifact), checking every sha256.

    Raises:
        IntegrityError: If the bundle is damaged or unsafe (install_artifact's checks).
    """
    from edge_embed.deploy.bundle import install_artifact

    key = hashlib.sha256(settings.bundle or b"").hexdigest()
    if key in _INSTALLED:
        return _INSTALLED[key]
    root = Path(tempfile.mkdtemp(prefix="edge-embed-artifact-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    bundle = root / "artifact.tar.gz"
    bundle.write_bytes(settings.bundle or b"")
    try:
        folder = install_artifact(bundle, root / "artifact")
    except ArtifactError as exc:  # a damaged bundle is a failed verification, whatever the check that caught it
        raise IntegrityError(str(exc)) from None
    finally:
        bundle.unlink(missing_ok=True)
    _INSTALLED[key] = folder
    return folder
