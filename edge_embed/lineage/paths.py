"""Containment: every file a manifest, bundle or config names must stay inside its folder."""

from __future__ import annotations

import re
from pathlib import Path

from edge_embed.errors import ArtifactError, InputError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def member_name(name: object, where: str) -> str:
    """``name`` if it is a plain relative path inside a folder (``a.onnx``, ``sub/b.bin``).

    Raises:
        ArtifactError: For an absolute path, a ``..`` or empty part, a backslash or drive, or a non-string.
    """
    if not isinstance(name, str) or not name:
        raise ArtifactError(f"{where}: file name {name!r} must be a non-empty string")
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or ":" in parts[0] or any(p in ("", ".", "..") for p in parts):
        raise ArtifactError(f"{where}: {name!r} is not a plain file name inside the artifact folder; refused")
    return name


def inside(folder: Path, name: str, where: str) -> Path:
    """``folder / name``, refused if it is a link or resolves outside ``folder``.

    Raises:
        ArtifactError: If the path escapes the folder.
    """
    path = folder / member_name(name, where)
    if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()):
        raise ArtifactError(f"{where}: {path} is a link or lies outside {folder}; refused")
    return path


def safe_name(value: object, key: str) -> str:
    """A name used to build output folders (pipeline and quantization names): letters, digits, ``._-``.

    Raises:
        InputError: Naming the key, for anything that could leave the workspace.
    """
    if not isinstance(value, str) or not _SAFE_NAME.match(value) or value in (".", ".."):
        raise InputError(
            f"{key} {value!r} must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value
