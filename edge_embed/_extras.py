"""Fail fast, with the exact pip command, when a build-side extra is missing (no heavy import here)."""

from __future__ import annotations

from importlib.util import find_spec

from edge_embed.errors import MissingExtraError

BUILD_MODULES = ("torch", "transformers", "optimum.exporters.onnx", "sentence_transformers", "onnx")


def require_build(feature: str, modules: tuple[str, ...] = BUILD_MODULES, extra: str = "build") -> None:
    """Raise if any module the build side needs cannot be found.

    Args:
        feature: What the user tried to do (for the message).
        modules: Importable module names to look for, without importing them.
        extra: The extra that installs them.

    Raises:
        MissingExtraError: Naming the missing modules and the pip command that installs them.
    """
    missing = [name for name in modules if not _findable(name)]
    if missing:
        install = "pip install torch==2.13.0 && " if extra == "build" else ""
        raise MissingExtraError(
            f"{feature} needs the {extra} extra ({', '.join(missing)} not installed): "
            f"{install}pip install 'edge-embed[{extra}]'"
        )


def _findable(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False
