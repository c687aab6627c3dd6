"""Benchmark rows and reports for tests, built through the real record types (what report.json readers get)."""

from edge_embed.records import BenchDataset, BenchReport, BenchRow, ColdStartSpread, RowKind, Spread


def steady(value: float, rounds: int = 3) -> Spread:
    """A spread whose rounds all measured ``value``."""
    return Spread.of([value] * rounds)


def bench_row(
    label: str,
    p95: float,
    ndcg: float,
    rss: float | None = 100.0,
    kind: RowKind = RowKind.ARTIFACT,
    dim: int = 8,
    identity: str | None = None,
    precision: str | None = None,
    batch_invariant: bool = True,
) -> BenchRow:
    """One full-width row with batch-1 p50 half of ``p95``, p99 1.5x, and ``rss`` MB peak at cold start."""
    return BenchRow(
        label=label,
        artifact=label,
        kind=kind,
        path=f"/a/{label}",
        precision=precision or label,
        batch_invariant=batch_invariant,
        dim=dim,
        identity=identity or f"sha-{label}",
        size_mb=10.0,
        metrics={"ndcg@10": ndcg},
        latency_ms={"p50": steady(p95 / 2), "p95": steady(p95), "p99": steady(p95 * 1.5)},
        latency_calls=30,
        throughput=steady(100.0),
        batch_size=32,
        cold_start=ColdStartSpread(steady(1.0), steady(0.5), None if rss is None else steady(rss)),
    )


def bench_report(rows: list[BenchRow], name: str = "toy", split: str = "test") -> BenchReport:
    """A report over ``rows`` measured on ``name``/``split``."""
    return BenchReport(
        created_at="2026-11-27T10:00:00+00:00",
        machine={"cpu": "test cpu", "threads": 2},
        dataset=BenchDataset(name=name, split=split, queries=4, corpus=8, fingerprint="f" * 16),
        settings={"rounds": 3},
        rows=tuple(rows),
    )
