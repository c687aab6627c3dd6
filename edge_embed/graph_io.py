"""Saving ONNX graphs the way artifact folders hold them (needs only ``onnx``, not the rest of the build side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_embed.lineage.manifest import EXTERNAL_DATA_FILE, MODEL_FILE


def save_graph(model: Any, folder: Path, external_data: bool) -> None:
    """Save an ONNX model as ``model.onnx``, with its weights in ``model.onnx_data`` if ``external_data``.

    With external weights onnxruntime memory-maps them rather than copying them out of a parsed protobuf:
    peak RSS at load drops by about the model's size, and weights never touched (most rows of the word
    embedding matrix) never become resident.
    """
    import onnx

    if external_data:
        onnx.save_model(
            model,
            str(folder / MODEL_FILE),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=EXTERNAL_DATA_FILE,
            size_threshold=1024,
        )
    else:
        onnx.save_model(model, str(folder / MODEL_FILE))
