"""Checked reads of one field of a record, each failing with a one-line error that names the field."""

from __future__ import annotations

import math

from edge_embed.errors import ArtifactError


def number(value: object, where: str) -> float:
    """A finite-or-infinite real (not NaN, not a bool)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise ArtifactError(f"{where} must be a number, not {value!r}")
    return float(value)


def count(value: object, where: str) -> int:
    """A non-negative integer (not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ArtifactError(f"{where} must be a non-negative integer, not {value!r}")
    return value


def text(value: object, where: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise ArtifactError(f"{where} must be a non-empty string, not {value!r}")
    return value
