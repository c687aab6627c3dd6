"""Turn a benchmark into what a person reads: a recommendation, report.json, report.md and pareto.png."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from edge_embed.errors import InputError
from edge_embed.eval.metrics import PRIMARY_METRIC
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.records.bench import REPORT_FILE, REPORT_FILES, BenchReport, BenchRow, Recommendation, RowKind
from edge_embed.records.sources import describe_sources
from edge_embed.tables import format_table

# Without budgets, the deployable artifact keeps NDCG@10 within this (relative) of the baseline (fp32).
DEFAULT_MAX_DROP = 0.01
__all__ = [
    "REPORT_FILES",
    "WorkloadPick",
    "markdown",
    "pareto_front",
    "recommend",
    "summary_table",
    "workload_pick",
    "workload_picks",
    "write_report",
]


def pareto_front(rows: Sequence[BenchRow]) -> list[BenchRow]:
    """Rows no other row beats on both p95 latency (lower) and NDCG@10 (higher)."""

    def dominated(row: BenchRow) -> bool:
        return any(
            o.p95_ms <= row.p95_ms and o.ndcg >= row.ndcg and (o.p95_ms < row.p95_ms or o.ndcg > row.ndcg) for o in rows
        )

    return [row for row in rows if not dominated(row)]


def recommend(
    rows: Sequence[BenchRow],
    budget_ms: float | None = None,
    budget_mb: float | None = None,
    min_ndcg: float | None = None,
    *,
    baseline: str | Path | None = None,
    max_drop: float = DEFAULT_MAX_DROP,
) -> Recommendation | None:
    """Pick the artifact row to deploy: the one rule bench and the pipeline share.

    With budgets: among edge-embed rows within ``budget_ms`` (p95 at batch 1) and ``budget_mb`` (cold-start peak
    RSS) and at or above ``min_ndcg``, the most accurate when a latency or memory budget is set, otherwise the
    fastest. Without budgets but with ``baseline`` (the path of a benchmarked artifact, e.g. the fp32 export): the
    fastest full-width artifact whose NDCG@10 is within ``max_drop`` (relative) of the baseline's.

    Returns:
        None when neither budgets nor a baseline were given; a recommendation whose ``label`` is None when no row
        fits.

    Raises:
        InputError: If ``baseline`` is not one of the benchmarked artifacts.
    """
    budgets = Recommendation(reason="", budget_ms=budget_ms, budget_mb=budget_mb, min_ndcg=min_ndcg)
    if budget_ms is None and budget_mb is None and min_ndcg is None:
        if baseline is None:
            return None
        return _within_drop_of(rows, str(baseline), max_drop, budgets)
    fits = [
        row
        for row in rows
        if row.kind is RowKind.ARTIFACT
        and (budget_ms is None or row.p95_ms <= budget_ms)
        and (budget_mb is None or (row.peak_rss_mb or float("inf")) <= budget_mb)
        and (min_ndcg is None or row.ndcg >= min_ndcg)
    ]
    if not fits:
        return replace(budgets, reason="no artifact meets the budget")
    if budget_ms is not None or budget_mb is not None:
        best = max(fits, key=lambda r: (r.ndcg, -r.p95_ms))
        reason = f"highest {PRIMARY_METRIC} within the budget"
    else:
        best = min(fits, key=lambda r: (r.p95_ms, -r.ndcg))
        reason = f"fastest p95 with {PRIMARY_METRIC} >= {min_ndcg}"
    return replace(budgets, label=best.label, path=best.path, dim=best.dim, reason=reason)


def _within_drop_of(
    rows: Sequence[BenchRow], baseline: str, max_drop: float, budgets: Recommendation
) -> Recommendation:
    """The fastest full-width artifact row within ``max_drop`` of the ``baseline`` artifact's NDCG@10."""
    full = [r for r in rows if r.kind is RowKind.ARTIFACT and r.full_width]
    base = next((r for r in full if r.path == baseline), None)
    if base is None:
        raise InputError(f"baseline {baseline} is not among the benchmarked artifacts")
    floor = base.ndcg * (1 - max_drop)
    best = min((r for r in full if r.ndcg >= floor), key=lambda r: r.p95_ms)
    reason = f"fastest p95 with NDCG@10 within {max_drop:.0%} of {base.precision}"
    return replace(budgets, label=best.label, path=best.path, dim=best.dim, reason=reason)


@dataclass(frozen=True)
class WorkloadPick:
    """The artifact to serve one workload: the fastest for it among those close enough to the most accurate."""

    workload: str  # "documents", "short texts" or "batch-1 queries"
    label: str
    path: str
    value: float
    unit: str

    def describe(self) -> str:
        return f"{self.workload}: {self.label} ({self.value:.1f} {self.unit})"


def workload_picks(rows: Sequence[BenchRow], max_drop: float = DEFAULT_MAX_DROP) -> list[WorkloadPick]:
    """Per workload, the fastest full-width artifact whose NDCG@10 is within ``max_drop`` (relative) of the most
    accurate artifact's: documents by passages/s, short texts by queries/s at the same batch size, batch-1 queries
    by p50. The picks may differ (e.g. OpenVINO for documents, onnxruntime for single queries). An artifact whose
    vectors depend on their batch-mates (per-tensor int8) is picked only for batch-1 queries, which have none,
    unless no other is close enough."""
    full = [r for r in rows if r.kind is RowKind.ARTIFACT and r.full_width]
    if not full:
        return []
    floor = max(r.ndcg for r in full) * (1 - max_drop)
    close = [r for r in full if r.ndcg >= floor]
    batched = [r for r in close if r.batch_invariant] or close
    picks = []
    documents = max(batched, key=lambda r: r.texts_per_s)
    picks.append(WorkloadPick("documents", documents.label, documents.path, documents.texts_per_s, "passages/s"))
    measured = [r for r in batched if r.short_texts_per_s is not None]
    if measured:
        short = max(measured, key=lambda r: r.short_texts_per_s or 0.0)
        picks.append(WorkloadPick("short texts", short.label, short.path, short.short_texts_per_s or 0.0, "queries/s"))
    queries = min(close, key=lambda r: r.p50_ms)
    picks.append(WorkloadPick("batch-1 queries", queries.label, queries.path, queries.p50_ms, "ms p50"))
    return picks


def workload_pick(folder: Path, workload: str) -> WorkloadPick:
    """The artifact a bench report folder picks for ``workload`` (``"documents"``, ``"short texts"`` or
    ``"batch-1 queries"``), with its path checked.

    Raises:
        ArtifactError: If ``folder`` holds no readable report.
        InputError: If the report has no pick for ``workload`` or the picked artifact is not where the bench found it.
    """
    picks = {pick.workload: pick for pick in workload_picks(BenchReport.read(folder).rows)}
    if workload not in picks:
        known = ", ".join(picks) or "none"
        raise InputError(f"the report in {folder} picks no artifact for {workload} (its picks: {known})")
    pick = picks[workload]
    if not Path(pick.path).is_dir():
        raise InputError(
            f"the report in {folder} picks {pick.label} for {workload}, but {pick.path} is not a folder here; "
            "serve the artifact folder itself"
        )
    return pick


def summary_table(report: BenchReport) -> str:
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
        "short/s",
        "cold s",
        "RSS MB",
        "size MB",
        "run id",
    ]
    rows = [
        [
            row.label,
            row.dim,
            row.precision,
            *(row.metrics[k] for k in ("ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100")),
            f"{row.p50_ms:.2f}",
            f"{row.p95_ms:.2f}",
            f"{row.p99_ms:.2f}",
            f"{row.texts_per_s:.1f}",
            f"{row.short_texts_per_s:.1f}" if row.short_texts_per_s is not None else "-",
            f"{row.cold_start.seconds.median:.2f}" if row.cold_start else "-",
            f"{row.peak_rss_mb:.0f}" if row.peak_rss_mb else "-",
            f"{row.size_mb:.1f}",
            row.run_id or "-",
        ]
        for row in report.rows
    ]
    return format_table(headers, rows)


def markdown(report: BenchReport) -> str:
    """report.md: settings, the table, the comparison with the reference, the recommendation and each lineage."""
    data, machine, settings = report.dataset, report.machine, report.settings
    lines = [
        "# edge-embed benchmark",
        "",
        f"- dataset: {data.name}/{data.split}, {data.queries} queries, {data.corpus} passages"
        + (" (**sampled**: a seeded subset, not the full split)" if data.sampled else ""),
        f"- machine: {machine['cpu']} ({', '.join(machine['flags']) or 'no SIMD flags of interest'}), "
        f"{machine['threads']} of {machine['cores_usable']} cores, onnxruntime "
        f"{machine['versions'].get('onnxruntime', '?')}",
        f"- timing: {settings['rounds']} interleaved rounds; latency = batch-1 queries "
        f"({settings['rounds'] * settings['latency_queries']} calls per artifact), throughput = passages (texts/s) "
        f"and queries (short/s) at batch {settings['batch_size']}; values are medians over rounds (range in "
        "report.json)",
        "",
        "```",
        summary_table(report),
        "```",
        "",
    ]
    compared = [(row, row.vs_reference) for row in report.rows if row.vs_reference is not None]
    if compared:
        lines += ["## Against sentence-transformers on PyTorch (same checkpoint, same texts)", "", "```"]
        lines.append(
            format_table(
                ["artifact", "p50 speed-up", "throughput speed-up", "cold-start speed-up", "ndcg@10 delta"],
                [
                    [
                        row.label,
                        f"{vs.p50_speedup:.1f}x",
                        f"{vs.throughput_speedup:.1f}x",
                        f"{vs.cold_start_speedup:.1f}x" if vs.cold_start_speedup is not None else "-",
                        f"{vs.ndcg_delta:+.4f}",
                    ]
                    for row, vs in compared
                ],
            )
        )
        lines += ["```", ""]
    if report.recommendation:
        lines += ["## Recommendation", "", recommendation_line(report.recommendation), ""]
    picks = workload_picks(report.rows)
    if len({row.label for row in report.rows if row.full_width}) > 1 and picks:
        lines += [f"## Per workload (NDCG@10 within {DEFAULT_MAX_DROP:.0%} of the most accurate)", ""]
        lines += [f"- {pick.describe()}" for pick in picks] + [""]
    lines += ["## Lineage", ""]
    for row in report.rows:
        lineage = row.lineage
        if not lineage or row.dim != report.full_dim(row.artifact):
            continue
        chain = " → ".join(
            f"{link['kind']} {str(link['identity'])[:12]} [{link['status']}]" for link in lineage["chain"]
        )
        lines.append(f"- **{row.artifact}**: {chain}")
        quant = lineage.get("quantization")
        if quant:
            lines.append(f"  - quantization: {json.dumps(quant, sort_keys=True)}")
        for source in describe_sources(lineage.get("data", []), f"{row.artifact}'s run data"):
            lines.append(f"  - data: {source}")
    return "\n".join(lines) + "\n"


def recommendation_line(choice: Recommendation) -> str:
    """One sentence naming the artifact to deploy and why."""
    budgets = ", ".join(
        f"{name} {value}"
        for name, value in (
            ("p95 <=", choice.budget_ms and f"{choice.budget_ms} ms"),
            ("peak RSS <=", choice.budget_mb and f"{choice.budget_mb} MB"),
            ("ndcg@10 >=", choice.min_ndcg),
        )
        if value
    )
    if choice.label is None:
        return f"No artifact meets the budget ({budgets})."
    return f"Deploy **{choice.label}** ({choice.path}, dim {choice.dim}): {choice.reason} ({budgets})."


def plot_pareto(report: BenchReport, path: Path) -> bool:
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
    rows = report.rows
    front = sorted(pareto_front(rows), key=lambda r: r.p95_ms)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for row in rows:
        on_front = any(row is f for f in front)
        marker = "s" if row.kind is RowKind.REFERENCE else "o"
        ax.scatter(row.p95_ms, row.ndcg, marker=marker, s=40, color="C0" if on_front else "C7")
        ax.annotate(row.label, (row.p95_ms, row.ndcg), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.plot([r.p95_ms for r in front], [r.ndcg for r in front], "--", color="C0", lw=1, label="Pareto front")
    data = report.dataset
    ax.set_xlabel("latency p95 at batch 1 (ms, median over rounds)")
    ax.set_ylabel(f"NDCG@10 on {data.name}/{data.split}" + (" (sampled)" if data.sampled else ""))
    ax.set_title(f"{report.machine.get('cpu', '?')}, {report.threads} threads", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_report(report: BenchReport, folder: str | Path, overwrite: bool = False) -> Path:
    """Write report.json, report.md and pareto.png into ``folder`` atomically (all three or none)."""
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        (tmp / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        (tmp / "report.md").write_text(markdown(report))
        plot_pareto(report, tmp / "pareto.png")
    return Path(folder)
