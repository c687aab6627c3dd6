"""Library versions for manifests and reports, read from package metadata (never by importing the library)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

RUNTIME_PACKAGES = ("edge-embed", "onnxruntime", "tokenizers", "numpy")
BUILD_PACKAGES = ("torch", "transformers", "optimum", "optimum-onnx", "sentence-transformers", "onnx")


def package_versions(names: tuple[str, ...] = RUNTIME_PACKAGES + BUILD_PACKAGES) -> dict[str, str]:
    """Return ``{distribution: version}`` for the installed ones among ``names``.

    Args:
        names: Distribution names as pip knows them.

    Returns:
        Versions of those that are installed.
    """
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
