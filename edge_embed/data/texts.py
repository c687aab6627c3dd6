"""Read plain domain texts (for calibration and the like) from a BEIR folder, a .txt or a .jsonl file."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from edge_embed.data.beir import load_corpus, load_qrels
from edge_embed.errors import InputError


@dataclass(frozen=True)
class TextSample:
    """Texts read from a source, with what had to be skipped."""

    texts: list[str]
    source: str
    total: int
    skipped_lines: tuple[int, ...] = ()


def read_domain_texts(
    path: str | Path, limit: int, seed: int = 13, field: str = "text", split: str | None = None
) -> TextSample:
    """Read up to ``limit`` texts, a seeded sample where there are more.

    A BEIR folder gives its passages (``title. text``); a ``.jsonl`` file the ``field`` of each line; any other
    file one text per line. Unreadable lines (invalid UTF-8 or JSON, missing field) and blank ones are skipped
    and their line numbers reported.

    Args:
        path: The folder or file.
        limit: The most texts to return.
        seed: Seed for the sample.
        field: The JSON field holding the text in a ``.jsonl`` file.
        split: For a BEIR folder, only the passages relevant to this split's queries (e.g. ``train``, so that
            calibration never sees test passages); the whole corpus when None.

    Returns:
        The texts and what was skipped.

    Raises:
        InputError: If the path does not exist or yields no text.
    """
    path = Path(path)
    skipped: list[int] = []
    if path.is_dir():
        corpus = load_corpus(path)
        if split is None:
            texts = list(corpus.values())
        else:
            wanted = sorted({cid for cids in load_qrels(path, split).values() for cid in cids})
            texts = [corpus[cid] for cid in wanted if cid in corpus]
    elif path.is_file():
        texts = []
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                text = _line_text(raw, path.suffix == ".jsonl", field)
                if text is None:
                    skipped.append(number)
                elif text.strip():
                    texts.append(text)
    else:
        raise InputError(f"text data {path} does not exist (a BEIR folder, .txt or .jsonl)")
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise InputError(f"{path} has no usable text ({len(skipped)} unreadable lines)")
    total = len(texts)
    if total > limit:
        texts = random.Random(seed).sample(texts, limit)
    return TextSample(texts=texts, source=str(path), total=total, skipped_lines=tuple(skipped))


def _line_text(raw: bytes, is_jsonl: bool, field: str) -> str | None:
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return None
    if not is_jsonl:
        return line
    if not line.strip():
        return ""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    value = record.get(field) if isinstance(record, dict) else None
    return value if isinstance(value, str) else None
