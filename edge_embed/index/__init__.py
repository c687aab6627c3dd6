"""Local search on the lean runtime: a folder of documents and their vectors (float32, int8 or binary with
rescoring), exact search in numpy, tied to the artifact that embedded them."""

from edge_embed.index.documents import Document, read_documents
from edge_embed.index.scoring import StoredPrecision
from edge_embed.index.store import Hit, IndexManifest, VectorIndex

__all__ = ["Document", "Hit", "IndexManifest", "StoredPrecision", "VectorIndex", "read_documents"]
