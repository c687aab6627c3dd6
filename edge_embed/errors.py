"""One exception tree for everything edge-embed raises on purpose.

The CLI prints an ``EdgeEmbedError`` as one line and exits with code 1; any other exception is a bug.
"""

from __future__ import annotations

from typing import Any


class EdgeEmbedError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class ArtifactError(EdgeEmbedError):
    """An artifact folder is missing, incomplete or unreadable."""


class IntegrityError(ArtifactError):
    """A file's sha256 does not match the one its manifest records."""


class ManifestVersionError(ArtifactError):
    """The manifest was written in a format this version cannot read."""


class LineageError(ArtifactError):
    """An artifact's chain back to its parents, checkpoint or run is broken (a link missing or altered)."""


class CheckpointError(EdgeEmbedError):
    """A checkpoint, model or run folder cannot be used as an export source."""


class InputError(EdgeEmbedError, ValueError):
    """Texts, files or options given by the user are invalid."""


class ParityError(EdgeEmbedError):
    """An exported graph does not reproduce its source model's embeddings."""


class GateError(EdgeEmbedError):
    """A quantized artifact lost more accuracy than allowed; nothing was written.

    ``gate`` holds the gate's record (as the manifest would have stored it), when a gate was run.
    """

    def __init__(self, message: str, gate: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.gate = gate


class MissingExtraError(EdgeEmbedError, ImportError):
    """A build-side feature was used without the ``[build]`` extra installed."""
