"""Latency/accuracy benchmark of artifacts on the device, with lineage (lean runtime; matplotlib for the plot)."""

from edge_embed.bench.report import recommend, write_report
from edge_embed.bench.runner import BenchSettings, run_bench

__all__ = ["BenchSettings", "recommend", "run_bench", "write_report"]
