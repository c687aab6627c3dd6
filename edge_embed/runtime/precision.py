"""Output quantization of embeddings (int8, uint8, binary) as sentence-transformers' ``quantize_embeddings`` does."""

from __future__ import annotations

import logging
from enum import Enum

import numpy as np

from edge_embed.errors import InputError

log = logging.getLogger(__name__)

# sentence-transformers warns below this many rows when int8 ranges come from the embeddings themselves.
_FEW_ROWS = 100


class Precision(str, Enum):
    """The dtype of returned vectors: float, scalar-quantized (u)int8, or sign bits packed 8 to a byte."""

    FLOAT32 = "float32"
    INT8 = "int8"
    UINT8 = "uint8"
    BINARY = "binary"
    UBINARY = "ubinary"

    @classmethod
    def parse(cls, value: Precision | str) -> Precision:
        """The precision named by ``value``.

        Raises:
            InputError: If ``value`` is not one of the five precisions.
        """
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise InputError(f"precision must be one of {names}; got {value!r}") from None

    @property
    def needs_ranges(self) -> bool:
        """Whether quantizing needs per-dimension ranges (the scalar int8 precisions)."""
        return self in (Precision.INT8, Precision.UINT8)


# The manifest check (``checks[RANGES_CHECK]``) that records int8 ranges: {"min": [...], "max": [...], "texts": n}.
RANGES_CHECK = "embedding_ranges"


def ranges_record(embeddings: np.ndarray, source: str) -> dict[str, object]:
    """The manifest record of ``embeddings``' calibration ranges and what they were measured on."""
    ranges = calibration_ranges(embeddings)
    return {"min": ranges[0].tolist(), "max": ranges[1].tolist(), "texts": len(embeddings), "source": source}


def calibration_ranges(embeddings: np.ndarray) -> np.ndarray:
    """Per-dimension ``[min, max]`` rows of ``embeddings``: the ``(2, dim)`` ranges int8 quantization uses."""
    return np.vstack((embeddings.min(axis=0), embeddings.max(axis=0))).astype(np.float32)


def quantize(
    embeddings: np.ndarray,
    precision: Precision | str,
    ranges: np.ndarray | None = None,
) -> np.ndarray:
    """Quantize float embeddings as sentence-transformers' ``quantize_embeddings`` does.

    ``int8``/``uint8`` map each dimension's ``[min, max]`` range onto 256 levels; ``binary``/``ubinary`` keep the
    sign bit of each component, packed 8 to a byte (``binary`` shifted by -128 into int8). Values outside ``ranges``
    are clipped to its ends; a dimension whose range is empty gets a step of 1.

    Args:
        embeddings: ``(n, dim)`` float array.
        precision: The output precision.
        ranges: ``(2, dim)`` per-dimension minima and maxima for the int8 precisions; when None they are taken from
            ``embeddings`` themselves, which makes each vector depend on the others (give ranges for stable codes).

    Returns:
        ``(n, dim)`` float32, ``(n, dim)`` int8/uint8, or ``(n, ceil(dim / 8))`` int8/uint8 for the binary ones.

    Raises:
        InputError: If the precision is unknown or ``ranges`` does not have shape ``(2, dim)``.
    """
    precision = Precision.parse(precision)
    if precision is Precision.FLOAT32:
        return embeddings.astype(np.float32, copy=False)
    if precision is Precision.BINARY:
        return (np.packbits(embeddings > 0, axis=1).astype(np.int16) - 128).astype(np.int8)
    if precision is Precision.UBINARY:
        return np.packbits(embeddings > 0, axis=1)
    if ranges is None:
        if len(embeddings) < _FEW_ROWS:
            log.warning(
                "int8 ranges computed from only %d embeddings; pass ranges= (or calibration texts) for stable codes",
                len(embeddings),
            )
        ranges = calibration_ranges(embeddings)
    try:
        ranges = np.asarray(ranges, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError("ranges must be a (2, dim) array of numbers (minima, maxima)") from None
    if ranges.shape != (2, embeddings.shape[1]):
        raise InputError(f"ranges must have shape (2, {embeddings.shape[1]}) (minima, maxima), got {ranges.shape}")
    starts = ranges[0]
    steps = (ranges[1] - ranges[0]) / 255
    levels = np.clip(np.floor((embeddings - starts) / np.where(steps > 0, steps, 1)), 0, 255)
    if precision is Precision.UINT8:
        return levels.astype(np.uint8)
    return (levels - 128).astype(np.int8)
