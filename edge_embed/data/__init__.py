"""Reading user data (lean: standard library only)."""

from edge_embed.data.beir import RetrievalDataset, load_beir, passage_text

__all__ = ["RetrievalDataset", "load_beir", "passage_text"]
