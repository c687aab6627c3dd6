"""The screen a pipeline ends with: what each stage did, base vs finetuned, fp32 vs quantized, what to deploy."""

from __future__ import annotations

from edge_embed.pipeline.runner import PipelineResult, StageStatus
from edge_embed.records import REPORT_FILE, RUN_RECORD, BenchReport, RunRecord
from edge_embed.tables import base_vs_finetuned_table, format_table


def format_summary(result: PipelineResult) -> str:
    """Stage table, accuracy before and after finetuning, the benchmark table, and the deployable artifact."""
    parts = [
        format_table(
            ["stage", "status", "time", "output"],
            [
                [s.name, s.status, f"{s.seconds:.0f} s" if s.status is StageStatus.DONE else "-", s.output or s.detail]
                for s in result.stages
            ],
        )
    ]
    failed = [s for s in result.stages if s.status is StageStatus.GATE_FAILED]
    parts += [f"{s.name}: left out, {s.detail}" for s in failed]
    if result.run_dir is not None and (result.run_dir / RUN_RECORD).is_file():
        record = RunRecord.read(result.run_dir)
        parts += [f"\nBase vs finetuned (run {record.run_id}):", base_vs_finetuned_table(record)]
    if result.report_dir is not None and (result.report_dir / REPORT_FILE).is_file():
        report = BenchReport.read(result.report_dir)
        data = report.dataset
        fp32 = next((r for r in report.rows if r.precision == "fp32" and r.full_width), None)
        rows = [
            [
                r.label,
                r.precision,
                r.ndcg,
                f"{r.ndcg / fp32.ndcg - 1:+.2%}" if fp32 else "-",
                f"{r.p50_ms:.2f}",
                f"{r.p95_ms:.2f}",
                f"{r.texts_per_s:.1f}",
                f"{r.size_mb:.1f}",
            ]
            for r in report.rows
        ]
        parts += [
            f"\nfp32 vs quantized on {data.name}/{data.split} ({data.queries} queries"
            + (", sampled" if data.sampled else "")
            + f"), {report.threads} threads:",
            format_table(["artifact", "precision", "ndcg@10", "vs fp32", "p50 ms", "p95 ms", "texts/s", "MB"], rows),
            f"report: {result.report_dir}/report.md (pareto.png beside it)",
        ]
    if result.refresh is not None:
        comparison = result.refresh
        parts += [
            f"\nRefresh: {comparison.old.label} -> {comparison.new.label}, NDCG@10 ({comparison.pairs.describe()}):",
            format_table(["on", "old", "new", "change"], comparison.rows()),
        ]
    if result.deployable is not None:
        parts.append(f"\ndeployable artifact: {result.deployable}  ({result.deploy_reason})")
        parts.append(f"  embed:   edge-embed embed {result.deployable} 'how do I reset alarm E-4711?' --kind query")
        parts.append(f"  bundle:  edge-embed package {result.deployable} -o {result.deployable.name}.tar.gz")
    return "\n".join(parts)
