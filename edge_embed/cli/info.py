"""Human-readable rendering of an artifact manifest for ``edge-embed info``."""

from __future__ import annotations

from pathlib import Path

from edge_embed.lineage.manifest import Manifest, manifest_sha256


def format_manifest(folder: Path, manifest: Manifest) -> str:
    """Return a short, aligned description of an artifact: what it computes, where it came from, its files.

    Args:
        folder: The artifact folder.
        manifest: Its manifest.

    Returns:
        Multi-line text.
    """
    graph, source = manifest.graph, manifest.source
    where = "in the graph" if graph.pooling_in_graph else "in numpy"
    rows = [
        ("artifact", str(folder)),
        ("manifest sha256", manifest_sha256(folder)),
        ("format version", str(manifest.format_version)),
        ("created", manifest.created_at),
        ("precision", graph.precision),
        (
            "engine",
            graph.backend.value
            + (f" (computes in {graph.inference_precision.value})" if graph.inference_precision else ""),
        ),
        ("embedding dim", str(manifest.embedding_dim)),
        ("matryoshka dims", ", ".join(map(str, manifest.matryoshka_dims)) or "-"),
        ("max seq length", str(manifest.max_seq_length)),
        ("pooling", f"{manifest.pooling.value} ({where})"),
        ("normalize", f"{manifest.normalize} ({'in the graph' if graph.normalize_in_graph else 'in numpy'})"),
        ("graph output", f"{graph.output_name} [{graph.output_kind.value}]"),
        ("query prompt", repr(manifest.prompts["query"]) if "query" in manifest.prompts else "-"),
        ("document prompt", repr(manifest.prompts["document"]) if "document" in manifest.prompts else "-"),
        ("source", f"{source.get('format', '?')}: {source.get('path', '?')}"),
        ("source weights", str(source.get("weights_sha256", "-"))),
        ("training run", str(source.get("run_id") or "-")),
        ("parent", (manifest.parent or {}).get("manifest_sha256", "-")),
    ]
    parity = manifest.checks.get("parity")
    if parity:
        rows.append(("parity", f"min cosine {parity['min_cosine']:.6f} on {parity['texts']} texts"))
    rows += [
        (f"file {name}", f"{_size(folder / name)}  sha256 {digest[:16]}…") for name, digest in manifest.files.items()
    ]
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def _size(path: Path) -> str:
    if not path.is_file():
        return "MISSING"
    size = float(path.stat().st_size)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GB"
