"""Lean: the life of a deployed artifact. Drift of incoming texts against a reference (numpy only)."""

from edge_embed.lifecycle.drift import DriftReport, DriftThresholds, Sample, TokenStats, Verdict, detect_drift

__all__ = ["DriftReport", "DriftThresholds", "Sample", "TokenStats", "Verdict", "detect_drift"]
