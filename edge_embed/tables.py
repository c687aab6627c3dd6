"""Plain-text tables for the end of a command (no dependency: reports, the pipeline and the CLI stay lean)."""

from __future__ import annotations

from collections.abc import Sequence

from edge_embed.records import RunRecord


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Align columns; numbers right-aligned, floats with 4 decimals.

    Args:
        headers: Column titles.
        rows: Cells, one sequence per row.

    Returns:
        The table as text, with a rule under the header.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) if rows else False for i in range(len(headers))]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in cells])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def base_vs_finetuned_table(record: RunRecord) -> str:
    """NDCG@10 and recall@10 of the base and finetuned models, per split and width: what a training run gained."""
    rows = [
        [
            c.split,
            c.dim,
            c.base["ndcg@10"],
            c.finetuned["ndcg@10"],
            f"{c.change():+.1%}",
            c.base["recall@10"],
            c.finetuned["recall@10"],
        ]
        for c in record.comparisons()
    ]
    return format_table(["split", "dim", "base ndcg@10", "tuned ndcg@10", "change", "base R@10", "tuned R@10"], rows)
