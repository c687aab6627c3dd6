"""Uses the public API as a user would; `make lint` type-checks it (it is not collected as a test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_embed import EdgeEmbedError, Embedder, TextKind
from edge_embed.data import RetrievalDataset, load_beir
from edge_embed.eval import Cutoffs, evaluate_artifact, evaluate_embeddings
from edge_embed.lineage import Manifest, manifest_sha256, read_manifest, verify_files


def device_side(artifact: Path, data: Path) -> float:
    embedder: Embedder = Embedder.load(artifact, threads=2, dim=128, verify=True)
    vectors: np.ndarray = embedder.embed(["pump seal"], batch_size=16, kind=TextKind.QUERY, show_progress=False)
    manifest: Manifest = read_manifest(artifact)
    verify_files(artifact, manifest)
    dataset: RetrievalDataset = load_beir(data, "test").sample(10, 100)
    scores = evaluate_artifact(embedder, dataset, dims=[64], batch_size=8, cutoffs=Cutoffs())
    direct = evaluate_embeddings(vectors, vectors, ["q"], ["d"], {"q": {"d"}})
    return scores[embedder.dim]["ndcg@10"] + direct["mrr@10"] + len(manifest_sha256(artifact))


def build_side(checkpoint: Path, out: Path, data: Path) -> Path:
    from edge_embed.export import export_artifact
    from edge_embed.quantize import GateError, QuantizationConfig, quantize_artifact
    from edge_embed.train import DataSource, preset, train

    run: Path = train(preset("tiny", data=(DataSource(str(data), license="CC-BY-4.0"),)), show_progress=False)
    exported: Path = export_artifact(run, out / "fp32", which="best", external_data=True)
    config = QuantizationConfig.for_target("dynamic-int8", "auto", optimize="O2")
    try:
        return quantize_artifact(
            exported, out / "int8", config, eval_dataset=load_beir(data, "dev"), max_drop=0.01
        ).path
    except GateError:
        return exported
    except EdgeEmbedError:
        raise
