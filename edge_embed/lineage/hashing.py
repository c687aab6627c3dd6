"""Content hashes: the identity of every file that crosses the build/device boundary."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks.

    Args:
        path: The file to hash.

    Returns:
        The lowercase hex digest.

    Raises:
        OSError: If the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of bytes in memory."""
    return hashlib.sha256(data).hexdigest()


def sha256_tree(root: str | Path, exclude: frozenset[str] = frozenset()) -> dict[str, str]:
    """Hash every regular file below ``root``.

    Args:
        root: The folder to walk.
        exclude: Relative POSIX paths to leave out (e.g. the manifest itself).

    Returns:
        A mapping of relative POSIX path to hex sha256, sorted by path.

    Raises:
        OSError: If a file cannot be read.
    """
    root = Path(root)
    hashes = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in exclude:
            hashes[rel] = sha256_file(path)
    return hashes
