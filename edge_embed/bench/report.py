"""Turn a benchmark into what a person reads: a recommendation, report.json, report.md and pareto.png."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_embed.errors import InputError
from edge_embed.eval.metrics import PRIMARY_METRIC
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.tables import format_table

# Without budgets, the deployable artifact keeps NDCG@10 within this (relative) of the baseline (fp32).
DEFAULT_MAX_DROP = 0.01

REPORT_FILES = ("report.json", "report.md", "pareto.png")


def p95(row: dict[str, Any]) -> float:
    """Median over rounds of a row's batch-1 p95 latency (ms)."""
    return float(row["latency_ms"]["p95"]["median"])


def peak_rss(row: dict[str, Any]) -> float | None:
    """Median cold-start peak RSS (MB), when measured."""
    cold = row.get("cold_start") or {}
    return cold["peak_rss_mb"]["median"] if cold.get("peak_rss_mb") else None


def pareto_front(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows no other row beats on both p95 latency (lower) and NDCG@10 (higher)."""

    def dominated(row: dict[str, Any]) -> bool:
        return any(
            p95(o) <= p95(row)
            and o["metrics"][PRIMARY_METRIC] >= row["metrics"][PRIMARY_METRIC]
            and (p95(o) < p95(row) or o["metrics"][PRIMARY_METRIC] > row["metrics"][PRIMARY_METRIC])
            for o in rows
        )

    return [row for row in rows if not dominated(row)]


def recommend(
    rows: Sequence[dict[str, Any]],
    budget_ms: float | None = None,
    budget_mb: float | None = None,
    min_ndcg: float | None = None,
    *,
    baseline: str | Path | None = None,
    max_drop: float = DEFAULT_MAX_DROP,
) -> dict[str, Any] | None:
    """Pick the artifact row to deploy: the one rule bench and the pipeline share.

    With budgets: among edge-embed rows within ``budget_ms`` (p95 at batch 1) and ``budget_mb`` (cold-start peak
    RSS) and at or above ``min_ndcg``, the most accurate when a latency or memory budget is set, otherwise the
    fastest. Without budgets but with ``baseline`` (the path of a benchmarked artifact, e.g. the fp32 export): the
    fastest full-width artifact whose NDCG@10 is within ``max_drop`` (relative) of the baseline's.

    Returns:
        ``{"label", "path", "dim", "reason", ...budgets}``; None when neither budgets nor a baseline were given;
        ``label`` is None when no row fits.

    Raises:
        InputError: If ``baseline`` is not one of the benchmarked artifacts.
    """
    budgets = {"budget_ms": budget_ms, "budget_mb": budget_mb, "min_ndcg": min_ndcg}
    if budget_ms is None and budget_mb is None and min_ndcg is None:
        if baseline is None:
            return None
        return _within_drop_of(rows, str(baseline), max_drop, budgets)
    fits = [
        row
        for row in rows
        if row["kind"] == "artifact"
        and (budget_ms is None or p95(row) <= budget_ms)
        and (budget_mb is None or (peak_rss(row) or float("inf")) <= budget_mb)
        and (min_ndcg is None or row["metrics"][PRIMARY_METRIC] >= min_ndcg)
    ]
    if not fits:
        return {"label": None, "reason": "no artifact meets the budget", **budgets}
    if budget_ms is not None or budget_mb is not None:
        best = max(fits, key=lambda r: (r["metrics"][PRIMARY_METRIC], -p95(r)))
        reason = f"highest {PRIMARY_METRIC} within the budget"
    else:
        best = min(fits, key=lambda r: (p95(r), -r["metrics"][PRIMARY_METRIC]))
        reason = f"fastest p95 with {PRIMARY_METRIC} >= {min_ndcg}"
    return {"label": best["label"], "path": best["path"], "dim": best["dim"], "reason": reason, **budgets}


def _within_drop_of(
    rows: Sequence[dict[str, Any]], baseline: str, max_drop: float, budgets: dict[str, float | None]
) -> dict[str, Any]:
    """The fastest full-width artifact row within ``max_drop`` of the ``baseline`` artifact's NDCG@10."""
    full = [r for r in rows if r["kind"] == "artifact" and r["label"] == r["artifact"]]
    base = next((r for r in full if r["path"] == baseline), None)
    if base is None:
        raise InputError(f"baseline {baseline} is not among the benchmarked artifacts")
    floor = base["metrics"][PRIMARY_METRIC] * (1 - max_drop)
    best = min((r for r in full if r["metrics"][PRIMARY_METRIC] >= floor), key=p95)
    reason = f"fastest p95 with NDCG@10 within {max_drop:.0%} of {base['precision']}"
    return {"label": best["label"], "path": best["path"], "dim": best["dim"], "reason": reason, **budgets}


def summary_table(report: dict[str, Any]) -> str:
    """The one table a person reads first (plain text; also the body of report.md)."""
    headers = [
        "artifact",
        "dim",
        "precision",
        "ndcg@10",
        "mrr@10",
        "recall@1",
        "recall@10",
        "recall@100",
        "map@100",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "texts/s",
        "cold s",
        "RSS MB",
        "size MB",
        "run id",
    ]
    rows = []
    for row in report["rows"]:
        m, lat, cold = row["metrics"], row["latency_ms"], row.get("cold_start")
        rows.append(
            [
                row["label"],
                row["dim"],
                row["precision"],
                *(m[k] for k in ("ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100")),
                f"{lat['p50']['median']:.2f}",
                f"{lat['p95']['median']:.2f}",
                f"{lat['p99']['median']:.2f}",
                f"{row['throughput']['texts_per_s']['median']:.1f}",
                f"{cold['seconds']['median']:.2f}" if cold else "-",
                f"{peak_rss(row):.0f}" if peak_rss(row) else "-",
                f"{row['size_mb']:.1f}",
                (row.get("lineage") or {}).get("run_id") or "-",
            ]
        )
    return format_table(headers, rows)


def markdown(report: dict[str, Any]) -> str:
    """report.md: settings, the table, the comparison with the reference, the recommendation and each lineage."""
    data, machine, settings = report["dataset"], report["machine"], report["settings"]
    lines = [
        "# edge-embed benchmark",
        "",
        f"- dataset: {data['name']}/{data['split']}, {data['queries']} queries, {data['corpus']} passages"
        + (" (**sampled**: a seeded subset, not the full split)" if data["sampled"] else ""),
        f"- machine: {machine['cpu']} ({', '.join(machine['flags']) or 'no SIMD flags of interest'}), "
        f"{machine['threads']} of {machine['cores_usable']} cores, onnxruntime "
        f"{machine['versions'].get('onnxruntime', '?')}",
        f"- timing: {settings['rounds']} interleaved rounds; latency = batch-1 queries "
        f"({settings['rounds'] * settings['latency_queries']} calls per artifact), throughput = passages at batch "
        f"{settings['batch_size']}; values are medians over rounds (range in report.json)",
        "",
        "```",
        summary_table(report),
        "```",
        "",
    ]
    compared = [row for row in report["rows"] if "vs_reference" in row]
    if compared:
        lines += ["## Against sentence-transformers on PyTorch (same checkpoint, same texts)", "", "```"]
        lines.append(
            format_table(
                ["artifact", "p50 speed-up", "throughput speed-up", "cold-start speed-up", "ndcg@10 delta"],
                [
                    [
                        row["label"],
                        f"{row['vs_reference']['p50_speedup']:.1f}x",
                        f"{row['vs_reference']['throughput_speedup']:.1f}x",
                        f"{row['vs_reference'].get('cold_start_speedup', float('nan')):.1f}x",
                        f"{row['vs_reference']['ndcg@10_delta']:+.4f}",
                    ]
                    for row in compared
                ],
            )
        )
        lines += ["```", ""]
    choice = report.get("recommendation")
    if choice:
        lines += ["## Recommendation", "", recommendation_line(choice), ""]
    lines += ["## Lineage", ""]
    for row in report["rows"]:
        lineage = row.get("lineage")
        if not lineage or row["dim"] != _full_dim(report, row["artifact"]):
            continue
        chain = " → ".join(
            f"{link['kind']} {str(link['identity'])[:12]} [{link['status']}]" for link in lineage["chain"]
        )
        lines.append(f"- **{row['artifact']}**: {chain}")
        quant = lineage.get("quantization")
        if quant:
            lines.append(f"  - quantization: {json.dumps(quant, sort_keys=True)}")
        for source in lineage.get("data", []):
            files = ", ".join(f"{Path(f['path']).name} {f['sha256'][:12]}" for f in source.get("files", []))
            lines.append(f"  - data: {source.get('path')} ({source.get('license') or 'no licence given'}): {files}")
    return "\n".join(lines) + "\n"


def recommendation_line(choice: dict[str, Any]) -> str:
    """One sentence naming the artifact to deploy and why."""
    budgets = ", ".join(
        f"{name} {value}"
        for name, value in (
            ("p95 <=", choice.get("budget_ms") and f"{choice['budget_ms']} ms"),
            ("peak RSS <=", choice.get("budget_mb") and f"{choice['budget_mb']} MB"),
            ("ndcg@10 >=", choice.get("min_ndcg")),
        )
        if value
    )
    if choice["label"] is None:
        return f"No artifact meets the budget ({budgets})."
    return f"Deploy **{choice['label']}** ({choice['path']}, dim {choice['dim']}): {choice['reason']} ({budgets})."


def plot_pareto(report: dict[str, Any], path: Path) -> bool:
    """pareto.png: p95 latency vs NDCG@10, one labelled point per row, the Pareto front joined.

    Returns:
        False (with a warning) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("matplotlib is not installed: no pareto.png (pip install 'edge-embed[plot]')", stacklevel=2)
        return False
    rows = report["rows"]
    front = sorted(pareto_front(rows), key=p95)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for row in rows:
        on_front = any(row is f for f in front)
        marker = "s" if row["kind"] == "reference" else "o"
        ax.scatter(p95(row), row["metrics"][PRIMARY_METRIC], marker=marker, s=40, color="C0" if on_front else "C7")
        ax.annotate(
            row["label"],
            (p95(row), row["metrics"][PRIMARY_METRIC]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    ax.plot(
        [p95(r) for r in front],
        [r["metrics"][PRIMARY_METRIC] for r in front],
        "--",
        color="C0",
        lw=1,
        label="Pareto front",
    )
    data = report["dataset"]
    ax.set_xlabel("latency p95 at batch 1 (ms, median over rounds)")
    ax.set_ylabel(f"NDCG@10 on {data['name']}/{data['split']}" + (" (sampled)" if data["sampled"] else ""))
    ax.set_title(f"{report['machine']['cpu']}, {report['machine']['threads']} threads", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_report(report: dict[str, Any], folder: str | Path, overwrite: bool = False) -> Path:
    """Write report.json, report.md and pareto.png into ``folder`` atomically (all three or none)."""
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        (tmp / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        (tmp / "report.md").write_text(markdown(report))
        plot_pareto(report, tmp / "pareto.png")
    return Path(folder)


def _full_dim(report: dict[str, Any], artifact: str) -> int:
    return max(row["dim"] for row in report["rows"] if row["artifact"] == artifact)
