"""User feedback on search results, kept in the workspace's SQLite registry (table ``feedback``).

A judgment says whether a passage (by id, or its text) was relevant to a query, with an optional time, user and
the artifact that served it. Rows come from ``edge-embed feedback import FILE`` (JSONL or CSV) or the service's
``POST /feedback``. ``registry rebuild`` never touches them: unlike runs and artifacts, feedback is not on disk
anywhere else.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_embed.errors import InputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, query TEXT NOT NULL, passage_id TEXT, passage TEXT,
    relevant INTEGER NOT NULL, at TEXT NOT NULL, user TEXT, artifact_sha256 TEXT, source TEXT NOT NULL
)
"""
_TRUE, _FALSE = {"1", "true", "yes", "y", "relevant"}, {"0", "false", "no", "n", "irrelevant"}


@dataclass(frozen=True)
class Judgment:
    """One piece of feedback: was this passage relevant to this query?"""

    query: str
    relevant: bool
    passage_id: str | None = None
    passage: str | None = None
    at: str = ""
    user: str | None = None
    artifact_sha256: str | None = None

    @classmethod
    def parse(cls, record: Mapping[str, Any], where: str) -> Judgment:
        """From a JSON object or CSV row: ``query``, ``passage_id`` or ``passage``, ``relevant``; optional ``at``
        (ISO time), ``user`` and ``artifact_sha256``.

        Raises:
            InputError: Naming ``where`` (file and line) and the field.
        """
        query = record.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InputError(f"{where}: 'query' must be a non-empty string")
        passage_id, passage = record.get("passage_id") or None, record.get("passage") or None
        if (passage_id is None) == (passage is None):
            raise InputError(f"{where}: give exactly one of 'passage_id' and 'passage'")
        for name, value in (("passage_id", passage_id), ("passage", passage), ("user", record.get("user"))):
            if value is not None and not isinstance(value, str):
                raise InputError(f"{where}: '{name}' must be a string, got {type(value).__name__}")
        at = record.get("at") or record.get("timestamp") or datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            datetime.fromisoformat(str(at))
        except ValueError:
            raise InputError(f"{where}: 'at' {at!r} is not an ISO time (e.g. 2026-12-02T10:00:00+00:00)") from None
        return cls(
            query=query,
            relevant=_relevant(record.get("relevant"), where),
            passage_id=passage_id,
            passage=passage,
            at=str(at),
            user=record.get("user") or None,
            artifact_sha256=record.get("artifact_sha256") or None,
        )


def _relevant(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InputError(f"{where}: 'relevant' must be yes/no, true/false or 1/0, got {value!r}")


def read_feedback(path: str | Path) -> list[Judgment]:
    """Read a ``.jsonl`` or ``.csv`` feedback file (blank lines skipped).

    Raises:
        InputError: For an unreadable file or a malformed line (file and line named).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read feedback {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    judgments = [Judgment.parse(record, f"{path} line {number}") for number, record in _records(path, text)]
    if not judgments:
        raise InputError(f"{path} holds no feedback rows")
    return judgments


def _records(path: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise InputError(f"{path} line {reader.line_num}: not a CSV row ({exc})") from None
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise InputError(f"{path} line {number}: expected a JSON object")
        yield number, record


def check_passage_ids(judgments: Iterable[Judgment], corpus_ids: set[str], where: str) -> None:
    """Refuse feedback naming passages the corpus does not hold.

    Raises:
        InputError: Listing up to five unknown ids.
    """
    unknown = sorted({j.passage_id for j in judgments if j.passage_id is not None and j.passage_id not in corpus_ids})
    if unknown:
        raise InputError(
            f"{where}: {len(unknown)} passage ids are not in the corpus ({', '.join(unknown[:5])}); "
            "check the corpus given with --corpus"
        )


class FeedbackStore:
    """The ``feedback`` table of a registry file (created on first use; WAL, like the registry)."""

    def __init__(self, path: str | Path, threads: bool = False) -> None:
        """Open (or create) the table; ``threads``: the store is shared by a service's threads (one lock)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=not threads)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.execute(_SCHEMA)

    def add(self, judgments: Iterable[Judgment], source: str) -> int:
        """Store judgments in one transaction; returns how many."""
        rows = [
            (j.query, j.passage_id, j.passage, int(j.relevant), j.at, j.user, j.artifact_sha256, source)
            for j in judgments
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO feedback (query, passage_id, passage, relevant, at, user, artifact_sha256, source) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(rows)

    def judgments(self) -> list[Judgment]:
        """Every stored judgment, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT query, relevant, passage_id, passage, at, user, artifact_sha256 FROM feedback ORDER BY id"
            ).fetchall()
        return [Judgment(q, bool(r), pid, p, at, u, sha) for q, r, pid, p, at, u, sha in rows]

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
