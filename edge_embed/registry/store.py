"""A local SQLite index of runs, artifacts and benchmark reports. The folders on disk (run.json, edge_embed.json,
report.json) stay the source of truth: the index can always be rebuilt from them."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_embed.errors import EdgeEmbedError, InputError
from edge_embed.lineage.hashing import sha256_file
from edge_embed.lineage.manifest import MANIFEST_NAME, read_manifest
from edge_embed.records import REPORT_FILE, RUN_RECORD, BenchReport, RowKind, RunRecord, SplitMetrics

REGISTRY_DIR = ".edge-embed"
REGISTRY_FILE = "registry.sqlite"
SCHEMA_VERSION = 1
SORTS = {"ndcg": "ndcg IS NULL, ndcg DESC", "p95": "p95_ms IS NULL, p95_ms ASC", "created": "a.created_at DESC"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, path TEXT NOT NULL, status TEXT, created_at TEXT, finished_at TEXT,
    record_sha256 TEXT, base_ndcg REAL, finetuned_ndcg REAL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS artifacts (
    path TEXT PRIMARY KEY, manifest_sha256 TEXT NOT NULL, name TEXT NOT NULL, precision TEXT, parent_sha256 TEXT,
    run_id TEXT, created_at TEXT, size_mb REAL, gate_ndcg REAL, manifest TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_sha ON artifacts (manifest_sha256);
CREATE TABLE IF NOT EXISTS bench_rows (
    report_path TEXT NOT NULL, label TEXT NOT NULL, manifest_sha256 TEXT, dim INTEGER, full_dim INTEGER,
    ndcg REAL, p50_ms REAL, p95_ms REAL, texts_per_s REAL, peak_rss_mb REAL, dataset TEXT, split TEXT,
    sampled INTEGER, created_at TEXT, PRIMARY KEY (report_path, label)
);
CREATE INDEX IF NOT EXISTS bench_sha ON bench_rows (manifest_sha256);
"""


def registry_path(workspace: str | Path) -> Path:
    """Where a workspace keeps its registry: ``<workspace>/.edge-embed/registry.sqlite``."""
    return Path(workspace) / REGISTRY_DIR / REGISTRY_FILE


class Registry:
    """The SQLite index of one workspace. Safe for several processes at once (WAL journal, one short
    ``BEGIN IMMEDIATE`` transaction per write, a busy timeout instead of errors)."""

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the registry file at ``path``."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=60000")
        with self._write():
            for statement in _statements(_SCHEMA):  # not executescript: it would commit on its own
                self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @classmethod
    def for_workspace(cls, workspace: str | Path) -> Registry:
        """The registry of a workspace folder."""
        return cls(registry_path(workspace))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, path: str | Path) -> str:
        """Index one run folder, artifact folder or report folder; return which kind it was.

        Raises:
            InputError: If the folder holds none of run.json, edge_embed.json or report.json.
        """
        with self._write():
            return self._add(Path(path))

    def rebuild(self, roots: Iterable[str | Path], strict: bool = False) -> RebuildResult:
        """Forget everything and index every run, artifact and report found under ``roots`` (one transaction:
        readers see the old index or the new one, never half of it).

        A folder whose run.json, manifest or report.json cannot be read is skipped and reported, so one damaged
        folder does not hide the rest; with ``strict`` it fails the rebuild instead (the old index stays).

        Raises:
            EdgeEmbedError: With ``strict``, for the first folder that cannot be indexed.
        """
        counts = {"run": 0, "artifact": 0, "report": 0}
        skipped: list[tuple[Path, str]] = []
        with self._write():
            for table in ("runs", "artifacts", "bench_rows"):
                self._db.execute(f"DELETE FROM {table}")
            for folder in _indexable_folders(roots, skip=self.path.parent):
                try:
                    with self._savepoint():
                        counts[self._add(folder)] += 1
                except EdgeEmbedError as exc:
                    if strict:
                        raise
                    skipped.append((folder, str(exc)))
        return RebuildResult(counts["run"], counts["artifact"], counts["report"], tuple(skipped))

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """A nested transaction: a folder that fails half-way leaves no rows behind."""
        self._db.execute("SAVEPOINT folder")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO folder")
            self._db.execute("RELEASE folder")
            raise
        self._db.execute("RELEASE folder")

    def _add(self, folder: Path) -> str:
        folder = folder.absolute()
        if (folder / RUN_RECORD).is_file():
            self._add_run(folder)
            return "run"
        if (folder / MANIFEST_NAME).is_file():
            self._add_artifact(folder)
            return "artifact"
        if (folder / REPORT_FILE).is_file():
            self._add_report(folder)
            return "report"
        raise InputError(
            f"{folder} is not a run, artifact or report folder (no run.json, {MANIFEST_NAME} or report.json)"
        )

    def _add_run(self, folder: Path) -> None:
        record = RunRecord.read(folder)
        self._db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
            (
                record.run_id,
                str(folder),
                record.status.value,
                record.created_at,
                record.finished_at,
                sha256_file(folder / RUN_RECORD),
                _ndcg(record.base_metrics),
                _ndcg(record.finetuned_metrics),
                json.dumps(record.to_dict()),
            ),
        )

    def _add_artifact(self, folder: Path) -> None:
        manifest = read_manifest(folder)
        gate = manifest.checks.get("gate") or {}
        self._db.execute(
            "INSERT OR REPLACE INTO artifacts VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                str(folder),
                sha256_file(folder / MANIFEST_NAME),
                folder.name,
                manifest.graph.precision,
                (manifest.parent or {}).get("manifest_sha256"),
                manifest.source.get("run_id"),
                manifest.created_at,
                sum((folder / f).stat().st_size for f in manifest.graph.files if (folder / f).is_file()) / 1e6,
                (gate.get("child") or {}).get("ndcg@10"),
                json.dumps(manifest.to_dict()),
            ),
        )

    def _add_report(self, folder: Path) -> None:
        report = BenchReport.read(folder)
        data = report.dataset
        self._db.execute("DELETE FROM bench_rows WHERE report_path = ?", (str(folder),))
        for row in report.rows:
            self._db.execute(
                "INSERT INTO bench_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    str(folder),
                    row.label,
                    row.identity if row.kind is RowKind.ARTIFACT else None,
                    row.dim,
                    report.full_dim(row.artifact),
                    row.ndcg,
                    row.p50_ms,
                    row.p95_ms,
                    row.texts_per_s,
                    row.peak_rss_mb,
                    data.name,
                    data.split,
                    int(data.sampled is not None),
                    report.created_at,
                ),
            )

    def runs(self) -> list[dict[str, Any]]:
        """Every run, newest first."""
        rows = self._db.execute(
            "SELECT run_id, status, created_at, base_ndcg, finetuned_ndcg, path FROM runs ORDER BY created_at DESC"
        )
        return [dict(r) for r in rows]

    def artifacts(self, sort: str = "created") -> list[dict[str, Any]]:
        """Every artifact with its latest benchmark at full width (NDCG@10 and p95), sorted.

        Raises:
            InputError: For an unknown sort key.
        """
        if sort not in SORTS:
            raise InputError(f"unknown sort {sort!r}; allowed: {', '.join(SORTS)}")
        query = f"""
            SELECT substr(a.manifest_sha256, 1, 12) AS id, a.name, a.precision, a.run_id, a.size_mb,
                   COALESCE(b.ndcg, a.gate_ndcg) AS ndcg, b.p95_ms, b.dataset, b.split, a.created_at, a.path
            FROM artifacts a LEFT JOIN bench_rows b ON b.rowid = (
                SELECT rowid FROM bench_rows WHERE manifest_sha256 = a.manifest_sha256 AND dim = full_dim
                ORDER BY created_at DESC LIMIT 1)
            ORDER BY {SORTS[sort]}, a.path"""
        return [dict(r) for r in self._db.execute(query)]

    def artifact(self, key: str) -> dict[str, Any]:
        """One artifact by manifest sha256 prefix, folder name or path, with its manifest and benchmark rows.

        Raises:
            InputError: If nothing or more than one artifact matches.
        """
        rows: list[sqlite3.Row] = []
        lookups = [("path = ?", str(Path(key).absolute())), ("name = ?", key)]
        if len(key) >= 4 and all(c in "0123456789abcdef" for c in key.lower()):
            lookups.append(("manifest_sha256 LIKE ?", f"{key.lower()}%"))
        for where, value in lookups:  # an exact path or name wins over a sha256 prefix
            rows = self._db.execute(f"SELECT * FROM artifacts WHERE {where}", (value,)).fetchall()
            if rows:
                break
        if not rows:
            raise InputError(f"no artifact {key!r} in the registry; see `edge-embed artifacts list`")
        if len({r["manifest_sha256"] for r in rows}) > 1:
            raise InputError(f"{key!r} matches {len(rows)} artifacts; give more of the sha256")
        found = dict(rows[0])
        found["manifest"] = json.loads(found["manifest"])
        found["paths"] = [r["path"] for r in rows]
        found["bench"] = [
            dict(r)
            for r in self._db.execute(
                "SELECT * FROM bench_rows WHERE manifest_sha256 = ? ORDER BY created_at DESC",
                (found["manifest_sha256"],),
            )
        ]
        return found

    def integrity(self) -> str:
        """SQLite's own integrity check ("ok" when the file is sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _ndcg(metrics: SplitMetrics) -> float | None:
    """NDCG@10 at full width on the test split (dev where there is no test)."""
    if not metrics:
        return None
    split = metrics.get("test") or metrics.get("dev") or {}
    full = max(split, key=int, default=None)
    return split[full].get("ndcg@10") if full else None


@dataclass(frozen=True)
class RebuildResult:
    """What ``Registry.rebuild`` indexed, and the folders it could not read (with why)."""

    runs: int
    artifacts: int
    reports: int
    skipped: tuple[tuple[Path, str], ...] = ()


def _indexable_folders(roots: Iterable[str | Path], skip: Path) -> Iterator[Path]:
    """Run, artifact and report folders under ``roots``; unfinished (hidden ``.partial``) folders are skipped,
    and nothing inside a run's checkpoints or an artifact is searched further."""
    for root in roots:
        for current, dirs, files in os.walk(root):
            here = Path(current)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d != skip)
            if RUN_RECORD in files or MANIFEST_NAME in files or REPORT_FILE in files:
                dirs[:] = []
                yield here
