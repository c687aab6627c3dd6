"""Reading texts for ``edge-embed embed`` and writing its vectors; errors name the file and line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np

from edge_embed.errors import InputError
from edge_embed.lineage.atomic import atomic_write_bytes


def read_lines(stream: BinaryIO, name: str, jsonl_field: str | None = None) -> list[str]:
    """Read one text per line (or one JSON object per line) from a binary stream, strictly as UTF-8.

    Args:
        stream: The bytes to read.
        name: The file name used in error messages.
        jsonl_field: Read each line as a JSON object and take this field; plain lines when None.

    Returns:
        The texts, one per line (empty lines included, so output rows align with input lines).

    Raises:
        InputError: On invalid UTF-8, invalid JSON or a missing/non-string field, naming the line.
    """
    texts = []
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name} line {number}: invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                "convert the file to UTF-8"
            ) from None
        line = line.rstrip("\r\n")
        if jsonl_field is None:
            texts.append(line)
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name} line {number}: invalid JSON ({exc.msg})") from None
        value = record.get(jsonl_field) if isinstance(record, dict) else None
        if not isinstance(value, str):
            raise InputError(f"{name} line {number}: no string field {jsonl_field!r}; choose one with --field")
        texts.append(value)
    return texts


def read_texts_file(path: Path, jsonl_field: str = "text") -> list[str]:
    """Read texts from a ``.txt`` (one per line) or ``.jsonl`` (field ``jsonl_field``) file.

    Raises:
        InputError: If the file is missing or unreadable, or a line is invalid.
    """
    try:
        with open(path, "rb") as handle:
            return read_lines(handle, str(path), jsonl_field if path.suffix == ".jsonl" else None)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def check_vector_output(output: Path | None) -> None:
    """Refuse an output path ``write_vectors`` cannot write, before any work.

    Raises:
        InputError: If it is a folder, or its suffix is neither ``.npy`` nor ``.jsonl``.
    """
    if output is None:
        return
    if output.is_dir():
        raise InputError(f"output {output} is a folder; name a .npy or .jsonl file")
    if output.suffix not in (".npy", ".jsonl"):
        raise InputError(f"output {output} must end in .npy or .jsonl")


def write_vectors(vectors: np.ndarray, output: Path | None, stdout: TextIO) -> None:
    """Write vectors as ``.npy`` (atomically) or JSON lines (to a ``.jsonl`` file or stdout).

    Raises:
        InputError: If the output suffix is neither ``.npy`` nor ``.jsonl``.
    """
    if output is None:
        _write_jsonl(vectors, stdout)
        return
    check_vector_output(output)
    if output.suffix == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, vectors)
        atomic_write_bytes(output, buffer.getvalue())
    elif output.suffix == ".jsonl":
        text = io.StringIO()
        _write_jsonl(vectors, text)
        atomic_write_bytes(output, text.getvalue().encode())
    else:
        raise InputError(f"output {output} must end in .npy or .jsonl")


def _write_jsonl(vectors: Iterable[np.ndarray], stream: TextIO) -> None:
    for index, vector in enumerate(vectors):
        stream.write(json.dumps({"index": index, "embedding": [round(float(v), 7) for v in vector]}) + "\n")
