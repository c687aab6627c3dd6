"""Crash debris: the hidden temporary siblings an interrupted write leaves, found and removed safely.

Every atomic write in edge-embed goes through a sibling named ``.NAME.partial-PID-XXXX`` (or ``.NAME.old-PID-XXXX``
while a folder is replaced). A ``kill -9`` leaves it behind. It is stale when process PID no longer runs on
this machine; one written by an older edge-embed (no PID in its name) is stale once it is older than
``min_age``. A live writer's folder is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_MARKS = ("partial", "old")
_PATTERN = re.compile(r"^\.(?P<name>.+)\.(?P<mark>partial|old)-(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+(?:\.partial)?$")
_LEGACY_FILE = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.partial$")  # atomic_write_bytes before PIDs
DEFAULT_MIN_AGE_S = 3600.0


def temp_prefix(target: Path, mark: str = "partial") -> str:
    """The prefix of a temporary sibling of ``target`` made by this process (``.NAME.partial-PID-``)."""
    assert mark in _MARKS
    return f".{target.name}.{mark}-{os.getpid()}-"


@dataclass(frozen=True)
class Leftover:
    """A temporary sibling left by an interrupted write."""

    path: Path
    target: str  # the name of the file or folder it was going to become
    pid: int | None
    age_s: float

    def size(self) -> int:
        """Bytes it holds (walked on demand: a write cleaning its siblings never needs it)."""
        path = self.path
        if path.is_symlink() or not path.is_dir():
            return path.lstat().st_size
        return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())

    def stale(self, min_age_s: float = DEFAULT_MIN_AGE_S) -> bool:
        """Whether no live process can still be writing it."""
        if self.pid is not None:
            return not _alive(self.pid)
        return self.age_s >= min_age_s


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OverflowError:
        return False
    return True


def _parse(path: Path) -> Leftover | None:
    match = _PATTERN.match(path.name) or _LEGACY_FILE.match(path.name)
    if match is None:
        return None
    pid = match.groupdict().get("pid")
    try:
        stat = path.lstat()
    except OSError:
        return None
    return Leftover(path, match["name"], int(pid) if pid else None, max(0.0, time.time() - stat.st_mtime))


def find_leftovers(roots: Iterable[str | Path]) -> list[Leftover]:
    """Every temporary sibling below ``roots`` (searched recursively; a leftover folder is not entered)."""
    found: list[Leftover] = []
    for root in roots:
        stack = [Path(root)]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                leftover = _parse(entry) if entry.name.startswith(".") else None
                if leftover is not None:
                    found.append(leftover)
                elif entry.is_dir() and not entry.is_symlink():
                    stack.append(entry)
    return sorted(found, key=lambda leftover: str(leftover.path))


def remove(leftover: Leftover) -> None:
    """Delete one leftover (a folder with everything in it, or a file)."""
    if leftover.path.is_dir() and not leftover.path.is_symlink():
        shutil.rmtree(leftover.path, ignore_errors=True)
    else:
        leftover.path.unlink(missing_ok=True)


def clean_stale_siblings(target: Path) -> list[Leftover]:
    """Remove the stale temporary siblings of ``target`` (what a new write to ``target`` does first)."""
    parent = target.parent
    if not parent.is_dir():
        return []
    removed = []
    for entry in parent.glob(f".{glob_escape(target.name)}.*"):
        leftover = _parse(entry)
        if leftover is not None and leftover.target == target.name and leftover.stale():
            remove(leftover)
            removed.append(leftover)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters quoted."""
    return re.sub(r"([*?\[])", r"[\1]", name)
