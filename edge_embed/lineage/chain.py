"""Walk an artifact's lineage: quantized artifact -> exported artifact -> checkpoint -> training run -> base model
and data, checking every recorded hash on the way (standard library only)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_embed.choices import Choice
from edge_embed.errors import ArtifactError, IntegrityError, LineageError
from edge_embed.lineage.hashing import sha256_file
from edge_embed.lineage.manifest import MANIFEST_NAME, Manifest, manifest_sha256, read_manifest, verify_files
from edge_embed.records.sources import describe_sources


class LinkStatus(Choice):
    """What checking one link of a lineage chain found."""

    OK = "ok"
    BROKEN = "broken"  # present but altered: a hash differs from the one its child recorded
    MISSING = "missing"  # recorded but not found
    ABSENT = "absent"  # a training-side link (checkpoint, run) not on this machine: only its recorded identity


class LinkKind(Choice):
    """What one link of a lineage chain is."""

    ARTIFACT = "artifact"
    CHECKPOINT = "checkpoint"
    RUN = "run"
    BASE_MODEL = "base-model"
    REFRESHED = "refreshed"  # the deployed artifact a refresh run started from


OK, BROKEN, MISSING, ABSENT = LinkStatus.OK, LinkStatus.BROKEN, LinkStatus.MISSING, LinkStatus.ABSENT


@dataclass(frozen=True)
class Link:
    """One step of a lineage chain."""

    kind: LinkKind
    path: str | None
    identity: str | None  # manifest sha256, weights sha256 or run id
    status: LinkStatus
    detail: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind.value,
            "path": self.path,
            "identity": self.identity,
            "status": self.status.value,
            "detail": self.detail,
            "facts": self.facts,
        }


@dataclass(frozen=True)
class Lineage:
    """The chain from an artifact back to the run and data that produced it, newest first."""

    links: tuple[Link, ...]

    @property
    def artifact(self) -> Link:
        """The artifact the chain starts at."""
        return self.links[0]

    def problems(self, strict: bool = False) -> list[Link]:
        """Links that are altered or missing (with ``strict``, also training links absent from this machine)."""
        bad = {BROKEN, MISSING} | ({ABSENT} if strict else set())
        return [link for link in self.links if link.status in bad]

    def check(self, strict: bool = False) -> None:
        """Raise if a link is broken.

        Raises:
            LineageError: Naming the first broken link and why.
        """
        problems = self.problems(strict)
        if problems:
            first = problems[0]
            raise LineageError(
                f"broken lineage of {self.artifact.path}: {first.kind} {first.path or first.identity} is "
                f"{first.status} ({first.detail})"
            )

    def summary(self) -> dict[str, Any]:
        """The facts a benchmark row carries: ids along the chain, run, base model, data and quantization."""
        facts: dict[str, Any] = {
            "manifest_sha256": self.artifact.identity,
            "chain": [
                {"kind": link.kind.value, "identity": link.identity, "status": link.status.value, "path": link.path}
                for link in self.links
            ],
            "status": "broken" if self.problems() else "ok",
        }
        for link in self.links:
            if link.kind is LinkKind.ARTIFACT and "quantization" in link.facts and "quantization" not in facts:
                facts["quantization"] = link.facts["quantization"]
            if link.kind is LinkKind.RUN:
                facts["run_id"] = link.identity
                facts["data"] = link.facts.get("data", [])
            if link.kind is LinkKind.REFRESHED:
                facts["refreshes"] = {"path": link.path, "manifest_sha256": link.identity}
            if link.kind is LinkKind.BASE_MODEL:
                facts["base_model"] = {"path": link.path, "weights_sha256": link.identity}
        facts.setdefault("run_id", None)
        return facts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"links": [link.to_dict() for link in self.links], "summary": self.summary()}

    def format_tree(self) -> str:
        """The chain as an indented tree, one line per link (data sources under their run)."""
        lines = []
        for depth, link in enumerate(self.links):
            prefix = "" if depth == 0 else "   " * (depth - 1) + "└─ "
            ident = "" if link.kind is LinkKind.RUN else f"  sha256 {(link.identity or '?')[:12]}"
            note = f"  ({link.detail})" if link.detail else ""
            lines.append(f"{prefix}{_label(link)}{ident}  [{link.status}]{note}")
            if link.kind is LinkKind.RUN:
                for source in describe_sources(link.facts.get("data", []), f"{link.path}/run.json data"):
                    lines.append(f"{'   ' * depth}· data {source}")
        return "\n".join(lines)


def resolve_lineage(artifact: str | Path) -> Lineage:
    """Follow an artifact's parent links and its export source, checking each recorded hash.

    Args:
        artifact: The artifact folder to start from.

    Returns:
        The chain; a broken or missing link is recorded in it (call :meth:`Lineage.check` to fail on it).

    Raises:
        ArtifactError: If ``artifact`` itself is not an artifact folder.
    """
    folder = Path(artifact)
    manifest = read_manifest(folder)
    links = [_artifact_link(folder, manifest, manifest_sha256(folder))]
    while manifest.parent and links[-1].status == OK:
        parent_folder = _find_parent(folder, manifest.parent)
        recorded = manifest.parent.get("manifest_sha256")
        if parent_folder is None:
            links.append(
                Link(LinkKind.ARTIFACT, manifest.parent.get("path"), recorded, MISSING, "parent folder not found")
            )
            return Lineage(tuple(links))
        actual = manifest_sha256(parent_folder)
        parent_manifest = read_manifest(parent_folder)
        link = _artifact_link(parent_folder, parent_manifest, actual)
        if actual != recorded:
            link = Link(
                LinkKind.ARTIFACT,
                str(parent_folder),
                actual,
                BROKEN,
                f"its manifest sha256 {actual[:12]}… is not the {str(recorded)[:12]}… its child recorded",
                link.facts,
            )
        links.append(link)
        folder, manifest = parent_folder, parent_manifest
    if links[-1].status == OK:
        links.extend(_source_links(manifest.source))
    return Lineage(tuple(links))


def _artifact_link(folder: Path, manifest: Manifest, sha: str) -> Link:
    facts: dict[str, Any] = {"precision": manifest.graph.precision, "created_at": manifest.created_at}
    if "quantization" in manifest.options:
        facts["quantization"] = manifest.options["quantization"]
    try:
        verify_files(folder, manifest)
    except (ArtifactError, IntegrityError) as exc:
        return Link(LinkKind.ARTIFACT, str(folder), sha, BROKEN, str(exc).split(";")[0], facts)
    return Link(LinkKind.ARTIFACT, str(folder), sha, OK, "", facts)


def _find_parent(child: Path, parent: dict[str, Any]) -> Path | None:
    """The recorded parent path, or a sibling folder of the same name (artifacts moved together)."""
    recorded = Path(str(parent.get("path", "")))
    for candidate in (recorded, child.parent / recorded.name):
        if str(candidate) and candidate.is_dir():
            return candidate
    return None


def _source_links(source: dict[str, Any]) -> list[Link]:
    """Checkpoint, run and base model links from an export manifest's ``source`` section."""
    links = []
    path = source.get("path")
    weights = Path(str(path)) / str(source.get("weights_file", ""))
    kind = LinkKind.CHECKPOINT if source.get("run_id") else LinkKind.BASE_MODEL
    facts = {"checkpoint": source.get("checkpoint"), "format": source.get("format")}
    links.append(_hashed_link(kind, path, weights, source.get("weights_sha256"), "weights", facts))
    if not source.get("run_id"):
        return links
    run_path = source.get("run_path")
    record_file = Path(str(run_path)) / "run.json"
    run = _read_json(record_file)
    facts = _run_facts(run) if run else {}
    run_link = _hashed_link(LinkKind.RUN, run_path, record_file, source.get("run_record_sha256"), "run.json", facts)
    links.append(Link(LinkKind.RUN, run_link.path, source["run_id"], run_link.status, run_link.detail, facts))
    if run and isinstance(run.get("refresh"), dict):
        links.append(_refreshed_link(run["refresh"]))
    if run and run.get("base_model"):
        base = run["base_model"]
        base_path = Path(str(base.get("path")))
        weights_file = next(
            (base_path / n for n in ("model.safetensors", "pytorch_model.bin") if (base_path / n).is_file()), None
        )
        links.append(
            _hashed_link(LinkKind.BASE_MODEL, base.get("path"), weights_file, base.get("weights_sha256"), "weights", {})
        )
    return links


def _refreshed_link(refresh: dict[str, Any]) -> Link:
    """The artifact a refresh run started from: present and unchanged, altered since, or not on this machine."""
    artifact = refresh.get("artifact", {})
    path, recorded = artifact.get("path"), artifact.get("manifest_sha256")
    facts = {"feedback_pairs": refresh.get("feedback", {}).get("pairs")}
    folder = Path(str(path))
    if not path or not (folder / MANIFEST_NAME).is_file():
        return Link(LinkKind.REFRESHED, path, recorded, ABSENT, "not on this machine; recorded identity only", facts)
    actual = manifest_sha256(folder)
    if actual != recorded:
        detail = f"its manifest sha256 {actual[:12]}… is not the {str(recorded)[:12]}… the refresh started from"
        return Link(LinkKind.REFRESHED, path, recorded, BROKEN, detail, facts)
    return Link(LinkKind.REFRESHED, path, recorded, OK, "", facts)


def _hashed_link(
    kind: LinkKind, path: str | None, file: Path | None, recorded: str | None, what: str, facts: dict[str, Any]
) -> Link:
    """A training-side link: absent when its file is not here, broken when its sha256 changed."""
    if not recorded:
        return Link(kind, path, recorded, ABSENT, "no sha256 recorded for it", facts)
    if file is None or not file.is_file():
        return Link(kind, path, recorded, ABSENT, "not on this machine; recorded identity only", facts)
    actual = sha256_file(file)
    if actual != recorded:
        return Link(kind, path, recorded, BROKEN, f"{what} sha256 {actual[:12]}… differs from the recorded one", facts)
    return Link(kind, path, recorded, OK, "", facts)


def _run_facts(run: dict[str, Any]) -> dict[str, Any]:
    config = run.get("config", {})
    return {
        "status": run.get("status"),
        "data": run.get("data", []),
        "seed": run.get("seed"),
        "preset": config.get("preset"),
        "git_commit": run.get("git_commit"),
        "settings": {k: config.get(k) for k in ("epochs", "batch_size", "learning_rate", "max_seq_length", "loss")},
    }


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _label(link: Link) -> str:
    if link.kind is LinkKind.ARTIFACT:
        return f"artifact {link.facts.get('precision', '?')}  {link.path}"
    if link.kind is LinkKind.CHECKPOINT:
        return f"checkpoint {link.facts.get('checkpoint') or ''}  {link.path}"
    if link.kind is LinkKind.RUN:
        return f"run {link.identity}  {link.path}"
    if link.kind is LinkKind.REFRESHED:
        return f"refreshes artifact {link.path} (with {link.facts.get('feedback_pairs')} feedback pairs)"
    return f"{link.kind}  {link.path}"
