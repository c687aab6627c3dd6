"""Sensitivity-aware mixed precision: find the nodes whose quantization hurts most and keep them in fp32.

Each quantizable node is quantized alone and the damage it does to the final embeddings (1 - cosine to the
fp32 parent, averaged over real queries and passages) is measured. The most damaging nodes are then kept in
fp32, 1, 2, 4, ... at a time, until the accuracy gate passes.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.data.beir import RetrievalDataset
from edge_embed.errors import GateError
from edge_embed.lineage.manifest import Manifest
from edge_embed.quantize.config import QuantizationConfig
from edge_embed.quantize.gate import GateResult, run_gate
from edge_embed.quantize.graph import quantizable_nodes, quantize_single_node
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.steps import with_graph

logger = logging.getLogger(__name__)

PROBE_TEXTS = 48  # half queries, half passages


def node_sensitivity(source: Path, config: QuantizationConfig, parent: Embedder, texts: list[str]) -> dict[str, float]:
    """Damage each quantizable node does alone: mean (1 - cosine) of the embeddings against fp32.

    Args:
        source: The fp32 graph that is being quantized.
        config: The recipe (method, weight type, per-channel).
        parent: The fp32 artifact's embedder (its manifest and tokenizer are reused).
        texts: Probe texts.

    Returns:
        ``{node name: damage}``, most damaging first; nodes the method does not touch score 0.
    """
    from tqdm.auto import tqdm

    reference = parent.embed(texts)
    nodes = quantizable_nodes(source)
    damage = {}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "one.onnx"
        for node in tqdm(nodes, desc="sensitivity", unit="node"):
            quantize_single_node(source, path, config, node, nodes)
            probe = with_graph(parent, path)
            cosines = (probe.embed(texts) * reference).sum(axis=1)
            damage[node] = float(np.mean(1.0 - cosines))
    return dict(sorted(damage.items(), key=lambda kv: -kv[1]))


def probe_texts(dataset: RetrievalDataset, n: int = PROBE_TEXTS) -> list[str]:
    """A fixed mix of the dataset's queries and passages."""
    queries = [dataset.queries[q] for q in sorted(dataset.queries)[: n // 2]]
    passages = [dataset.corpus[c] for c in sorted(dataset.corpus)[: n - len(queries)]]
    return queries + passages


def keep_sensitive_nodes(
    source: Path,
    parent: Path,
    child: Path,
    config: QuantizationConfig,
    parent_embedder: Embedder,
    dataset: RetrievalDataset,
    max_drop: float,
    batch_size: int,
    rebuild: Callable[[QuantizationConfig], Manifest],
) -> tuple[QuantizationConfig, GateResult, dict[str, Any]]:
    """Keep the most sensitive nodes in fp32, doubling their number, until the gate passes.

    Returns:
        The final config, its gate result, and a report (sensitivity ranking, each step, nodes kept).

    Raises:
        GateError: If the gate fails even with every quantizable node kept in fp32.
    """
    ranking = node_sensitivity(source, config, parent_embedder, probe_texts(dataset))
    ordered = [name for name, damage in ranking.items() if damage > 0]
    steps: list[dict[str, Any]] = []
    count = 1
    while ordered:
        kept = tuple(ordered[:count])
        trial = config.replace(nodes_to_exclude=tuple(sorted(set(config.nodes_to_exclude) | set(kept))))
        rebuild(trial)
        gate = run_gate(parent, child, dataset, max_drop, batch_size)
        steps.append({"kept_fp32": len(kept), "ndcg@10": gate.child["ndcg@10"], "passed": gate.passed})
        logger.info("auto: %d node(s) kept in fp32 -> %s", len(kept), gate.describe())
        if gate.passed:
            report = {
                "kept_fp32": list(kept),
                "steps": steps,
                "quantizable_nodes": len(ranking),
                "sensitivity_top": dict(list(ranking.items())[:10]),
            }
            return trial, gate, report
        if count >= len(ordered):
            break
        count = min(count * 2, len(ordered))
    raise GateError(f"--auto could not pass the gate even with {len(ordered)} nodes kept in fp32")
