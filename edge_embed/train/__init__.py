"""Build side: finetune embedding models on domain data (needs ``edge-embed[build]``)."""

from edge_embed._extras import require_build

require_build("edge_embed.train", ("torch", "transformers", "sentence_transformers", "datasets", "accelerate"))

from edge_embed.train.config import DataSource, TrainConfig, preset  # noqa: E402
from edge_embed.train.trainer import train  # noqa: E402

__all__ = ["DataSource", "TrainConfig", "preset", "train"]
