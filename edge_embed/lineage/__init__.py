"""Artifact manifests, content hashes and atomic writes (lean: standard library only)."""

from edge_embed.lineage.chain import Lineage, Link, resolve_lineage
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
