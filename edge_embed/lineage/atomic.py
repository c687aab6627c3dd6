"""Atomic writes: write to a temporary sibling, then rename, so nothing half-written looks complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edge_embed.errors import InputError
from edge_embed.lineage.debris import clean_stale_siblings, temp_prefix


@contextlib.contextmanager
def atomic_dir(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder that becomes ``target`` only if the block finishes.

    On any exception, Ctrl-C included, the temporary folder is removed and ``target`` is left as it was.

    Args:
        target: The folder to create.
        overwrite: Replace an existing ``target`` (only once the new one is complete).

    Yields:
        The temporary folder to write into.

    Raises:
        InputError: If ``target`` exists and ``overwrite`` is false.
    """
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists; choose another output folder or pass --overwrite")
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file, not a folder; choose another output folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_siblings(target)  # what a killed earlier run on this output left
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target), dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(target, "old"), dir=target.parent))
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary sibling file and a rename.

    Args:
        target: The file to write.
        data: Its full contents.

    Raises:
        OSError: If the folder is not writable.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_siblings(target)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
