"""Artifact manifests, content hashes and atomic writes (lean: standard library only).

The lineage walk (``resolve_lineage``) loads on first use: the runtime needs only the manifest, and every
millisecond of import is cold start on a device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge_embed.lineage.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    GraphSpec,
    Manifest,
    OutputKind,
    Pooling,
    TokenizerSpec,
    manifest_sha256,
    read_manifest,
    verify_files,
    write_manifest,
)

if TYPE_CHECKING:
    from edge_embed.lineage.chain import Lineage, Link, resolve_lineage

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "GraphSpec",
    "Lineage",
    "Link",
    "Manifest",
    "OutputKind",
    "Pooling",
    "TokenizerSpec",
    "manifest_sha256",
    "read_manifest",
    "resolve_lineage",
    "verify_files",
    "write_manifest",
]


def __getattr__(name: str) -> Any:
    if name in ("Lineage", "Link", "resolve_lineage"):
        from edge_embed.lineage import chain

        return getattr(chain, name)
    raise AttributeError(f"module 'edge_embed.lineage' has no attribute {name!r}")
