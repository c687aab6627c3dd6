"""Typed records that cross module boundaries: the training run record (``run.json``) and the benchmark report
(``report.json``), each read and written in one place."""

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
    "FinetuneComparison",
    "Recommendation",
    "ReferenceComparison",
    "RowKind",
    "RunRecord",
    "RunStatus",
    "Spread",
    "SplitMetrics",
    "WallTime",
]
