"""Full verification of an artifact folder: what ``info --verify``, ``sign``, ``package`` and ``install`` check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge_embed.errors import ArtifactError, MissingExtraError
from edge_embed.lineage.manifest import (
    MANIFEST_NAME,
    Manifest,
    check_manifest_bytes,
    parse_manifest,
    read_manifest_bytes,
    unlisted_files,
    verify_files,
)


@dataclass(frozen=True)
class Verification:
    """What a full check of an artifact found (anything wrong raised instead)."""

    files: int
    sealed: bool
    signed_by: str | None  # key id of a valid signature, None when unsigned
    trusted: bool  # the signature's key is one of the trusted keys given
    signature_checked: bool  # False when signed but cryptography is not installed to check it

    def lines(self) -> list[str]:
        """Plain sentences for ``info --verify``."""
        out = [f"all {self.files} files match their sha256; no unlisted files"]
        if self.sealed:
            out.append("manifest seal matches: the manifest was not edited after it was written")
        else:
            out.append("manifest has no seal (written by an older edge-embed): hand edits to it cannot be detected")
        if self.signed_by is None:
            out.append(
                "unsigned: nothing proves who made this artifact (edge-embed sign ARTIFACT --key KEY; devices check "
                "it with --trust PUBKEY)"
            )
        elif not self.signature_checked:
            out.append(f"signed by key {self.signed_by}, NOT checked: pip install 'edge-embed[sign]' to check it")
        else:
            trust = "a trusted key" if self.trusted else "not checked against a trusted key (pass --trust PUBKEY)"
            out.append(f"signature valid: key {self.signed_by}, {trust}")
        return out


def verify_artifact(
    folder: str | Path,
    manifest: Manifest | None = None,
    *,
    trust: Iterable[str | Path | bytes] | None = None,
    check_signature: bool = True,
) -> Verification:
    """Check everything an artifact's manifest promises, and its signature if any.

    Args:
        folder: The artifact folder.
        manifest: Its manifest, if already read.
        trust: Public key files: the artifact must then be signed by one of them.
        check_signature: Check an existing signature (``sign`` skips this: it is about to replace it).

    Raises:
        ArtifactError: If a listed file is missing or a file is unlisted.
        IntegrityError: If a sha256 or the manifest's seal does not match.
        SignatureError: If a signature is invalid, or ``trust`` is given and the artifact is not signed by it.
    """
    folder = Path(folder)
    manifest_bytes = read_manifest_bytes(folder)
    manifest = manifest or parse_manifest(manifest_bytes, folder / MANIFEST_NAME)
    sealed = check_manifest_bytes(manifest_bytes, manifest, str(folder / MANIFEST_NAME))
    verify_files(folder, manifest)
    unlisted = unlisted_files(folder, manifest)
    if unlisted:
        raise ArtifactError(
            f"{folder} holds files its manifest does not list: {', '.join(unlisted[:5])}"
            + (f" and {len(unlisted) - 5} more" if len(unlisted) > 5 else "")
            + "; remove them or re-export the artifact"
        )
    signed_by, trusted, checked = None, False, True
    if trust is not None:
        from edge_embed.lineage.signing import verify_trusted

        signature, _ = verify_trusted(folder, trust)
        signed_by, trusted = signature.key_id, True
    elif check_signature:
        from edge_embed.lineage.signing import read_signature

        found = read_signature(folder)
        if found is not None:
            signed_by = found.key_id
            try:
                from edge_embed.lineage.signing import check_signature as check

                check(manifest_bytes, found, str(folder))
            except MissingExtraError:
                checked = False
    return Verification(len(manifest.files), sealed, signed_by, trusted, checked)
