"""What runs on each worker of every engine: the artifact loaded once per worker process, verified, and applied to
batches of texts. Ray Data calls it as a ``map_batches`` callable class; Spark as ``predict_batch_udf``'s model."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_embed.errors import ArtifactError, IntegrityError

try:
    import fcntl
except ImportError:  # Windows: no cluster workers there to race each other
    fcntl = None  # type: ignore[assignment]

_INSTALLED: dict[str, Path] = {}  # sha256 of a shipped bundle -> the verified copy this process uses


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker loads and runs the artifact: a folder every worker can read at ``artifact``, or the bytes of
    its bundle (``edge-embed package``), shipped with the task and unpacked once per machine (every worker process
    of the machine then loads and verifies that copy)."""

    artifact: str
    manifest_sha256: str  # what the driver saw: a worker's copy must be the same artifact
    threads: int = 1  # onnxruntime threads per worker: workers x threads <= cores, or they fight over them
    batch_size: int = 32  # texts per onnxruntime run
    texts_per_call: int = 512  # texts an engine hands a worker at once: sorted by length within, so batches pad little
    dim: int | None = None
    bundle: bytes | None = field(default=None, repr=False)  # ships the artifact to workers without its folder
    install_root: str | None = None  # where workers unpack a shipped bundle (default: see install_root())


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
    """This machine's verified copy of the shipped bundle: unpacked once per artifact into a cache that every worker
    process of this user shares (and later jobs reuse), under a lock; a cached copy that fails its check is replaced.

    Raises:
        IntegrityError: If the bundle is damaged or unsafe (install_artifact's checks).
    """
    from edge_embed.deploy.bundle import install_artifact
    from edge_embed.lineage.verify import verify_artifact

    key = hashlib.sha256(settings.bundle or b"").hexdigest()[:32]
    if key in _INSTALLED:
        return _INSTALLED[key]
    root = install_root(settings.install_root)
    folder = root / key
    with _locked(root / f"{key}.lock"):
        if folder.exists():
            try:
                verify_artifact(folder, check_signature=False)
            except ArtifactError:  # damaged since it was unpacked: unpack it again
                shutil.rmtree(folder)
        if not folder.exists():
            bundle = root / f"{key}.{os.getpid()}.tar.gz"
            bundle.write_bytes(settings.bundle or b"")
            try:
                install_artifact(bundle, folder)
            except ArtifactError as exc:  # a damaged bundle is a failed verification, whatever check caught it
                raise IntegrityError(str(exc)) from None
            finally:
                bundle.unlink(missing_ok=True)
    _INSTALLED[key] = folder
    return folder


def install_root(root: str | None = None) -> Path:
    """Where workers keep the artifacts shipped to them: ``root``, or ``edge-embed-artifacts-<uid>`` in the system's
    temporary folder (created private to this user)."""
    if root is not None:
        path = Path(root)
    else:
        user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
        path = Path(tempfile.gettempdir()) / f"edge-embed-artifacts-{user}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (the worker processes of one machine install one at a time)."""
    with path.open("a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
