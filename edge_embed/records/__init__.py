"""Typed records that cross module boundaries: the training run record (``run.json``) with its data sources, and
the benchmark report (``report.json``), each read and written in one place."""

from edge_embed.records.bench import (
    REPORT_FILE,
    REPORT_FILES,
    REPORT_SCHEMA,
    REPORT_SCHEMA_VERSION,
    BenchDataset,
    BenchReport,
    BenchRow,
    ColdStartSpread,
    Recommendation,
    ReferenceComparison,
    RowKind,
    Spread,
)
from edge_embed.records.run import (
    RUN_RECORD,
    RUN_SCHEMA_VERSION,
    FinetuneComparison,
    RunRecord,
    RunStatus,
    SplitMetrics,
    WallTime,
)
from edge_embed.records.sources import DataFile, QueryLogCounts, RunSource

__all__ = [
    "REPORT_FILE",
    "REPORT_FILES",
    "REPORT_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "RUN_RECORD",
    "RUN_SCHEMA_VERSION",
    "BenchDataset",
    "BenchReport",
    "BenchRow",
    "ColdStartSpread",
    "DataFile",
    "FinetuneComparison",
    "QueryLogCounts",
    "Recommendation",
    "ReferenceComparison",
    "RowKind",
    "RunRecord",
    "RunSource",
    "RunStatus",
    "Spread",
    "SplitMetrics",
    "WallTime",
]
