"""The workspace registry: runs, artifacts and benchmark reports indexed in SQLite (lean: standard library)."""

from edge_embed.registry.store import Registry, registry_path

__all__ = ["Registry", "registry_path"]
