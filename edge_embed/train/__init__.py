"""Build side: finetune embedding models on domain data (needs ``edge-embed[build]``).

``edge_embed.train.config`` is standard library only (the pipeline validates training settings with it on any
install); the trainer is imported, and the build extra required, on first use of :func:`train`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge_embed.train.config import DataSource, TrainConfig, preset

if TYPE_CHECKING:
    from edge_embed.train.trainer import train

__all__ = ["DataSource", "TrainConfig", "preset", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from edge_embed._extras import require_build

        require_build("edge_embed.train", ("torch", "transformers", "sentence_transformers", "datasets", "accelerate"))
        from edge_embed.train.trainer import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
