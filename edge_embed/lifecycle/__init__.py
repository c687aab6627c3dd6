"""Lean: the life of a deployed artifact (numpy and SQLite only).

``drift`` (incoming texts against a reference or a saved ``profile``), ``calibration`` and ``calibrate`` (cosine to
probability of relevance, in a child artifact), ``feedback`` (judgments in the registry) and ``health`` (quality on
feedback against the benchmark, with drift).
"""

from edge_embed.lifecycle.drift import DriftReport, DriftThresholds, Sample, TokenStats, Verdict, detect_drift

__all__ = ["DriftReport", "DriftThresholds", "Sample", "TokenStats", "Verdict", "detect_drift"]
