"""Deployable bundles: an artifact folder as one .tar.gz for an offline device, checked file by file on unpack."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from edge_embed.errors import ArtifactError, InputError, IntegrityError, MissingExtraError
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.debris import clean_stale_siblings, temp_prefix
from edge_embed.lineage.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Manifest,
    check_manifest_bytes,
    parse_manifest,
    read_manifest_bytes,
    verify_files,
)
from edge_embed.lineage.signing import Signature, check_signature, check_trusted, read_signature, trusted_keys


def package_artifact(
    artifact: str | Path, output: str | Path, overwrite: bool = False, *, sign: str | Path | None = None
) -> Path:
    """Write ``artifact`` (verified first) as a gzip tarball holding one folder named after it.

    Entries are sorted, owned by nobody and timestamped with the manifest's mtime, so the same artifact gives
    a byte-identical bundle. Only the manifest, its signature and the files it lists are packed.

    Args:
        artifact: The artifact folder.
        output: The ``.tar.gz`` to write.
        overwrite: Replace an existing ``output``.
        sign: A private key file (``edge-embed keygen``): the bundle carries a signature of the manifest made
            with it (the artifact folder itself is not changed). Without it, an existing signature is packed.

    Raises:
        IntegrityError: If a file of the artifact, its seal or its signature does not match its manifest.
        InputError: If ``output`` exists and ``overwrite`` is false.
    """
    folder, output = Path(artifact), Path(output)
    manifest_bytes = read_manifest_bytes(folder)
    manifest = parse_manifest(manifest_bytes, folder / MANIFEST_NAME)
    check_manifest_bytes(manifest_bytes, manifest, str(folder / MANIFEST_NAME))
    verify_files(folder, manifest)
    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; choose another file or pass --overwrite")
    if sign is not None:
        from edge_embed.lineage.signing import sign_manifest

        signature: Signature | None = sign_manifest(manifest_bytes, sign)
    else:
        signature = read_signature(folder)
        if signature is not None:
            with contextlib.suppress(MissingExtraError):
                check_signature(manifest_bytes, signature, str(folder))
    blobs = {MANIFEST_NAME: manifest_bytes}
    if signature is not None:
        blobs[SIGNATURE_NAME] = signature.to_json()
    names = [*blobs, *sorted(manifest.files)]
    mtime = int((folder / MANIFEST_NAME).stat().st_mtime)
    output.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_siblings(output)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(output), dir=output.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as compressed,  # no clock in the header
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in names:
                info = tarfile.TarInfo(f"{folder.name}/{name}")
                info.mtime, info.mode = mtime, 0o644
                if name in blobs:
                    info.size = len(blobs[name])
                    tar.addfile(info, io.BytesIO(blobs[name]))
                    continue
                info.size = (folder / name).stat().st_size
                with open(folder / name, "rb") as handle:
                    tar.addfile(info, handle)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output


DEFAULT_MAX_BYTES = 8 << 30  # largest total an install writes unless told otherwise: a 2B-parameter fp32 model
_MAX_MANIFEST_BYTES = 4 << 20  # a manifest is a few KB; its size is checked before it is read into memory
_CHUNK = 1 << 20
_MAX_MEMBERS = 10_000  # an artifact has a handful of files


@dataclass(frozen=True)
class BundleContents:
    """A bundle's member list, checked before anything is written."""

    top: str
    files: dict[str, tarfile.TarInfo]  # artifact-relative name -> member
    manifest: Manifest
    manifest_bytes: bytes
    signature: Signature | None


def install_artifact(
    bundle: str | Path,
    dest: str | Path,
    overwrite: bool = False,
    *,
    trust: Iterable[str | Path | bytes] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Unpack a bundle into the artifact folder ``dest``, refusing anything unsafe, checking every sha256.

    Before a byte is written, the whole member list is read and refused for: absolute paths or ``..``, links,
    devices, more than one top folder, duplicate names, a file and a folder with one name, a missing or second
    manifest, files the manifest does not list (or lists but the bundle lacks), a size other than the manifest's,
    a total above ``max_bytes`` or the free disk space, an edited manifest (its seal), and, with ``trust``, a
    manifest not signed by a trusted key.
    While unpacking, each file's bytes are counted and hashed: a lying header or a bad sha256 stops the install.
    Only a complete, verified folder appears as ``dest``; a refused install leaves nothing behind.

    Args:
        bundle: The ``.tar.gz`` written by :func:`package_artifact`.
        dest: The artifact folder to create.
        overwrite: Replace an existing ``dest`` once the new one is complete.
        trust: Public key files: refuse the bundle unless its manifest is signed by one of them.
        max_bytes: Largest total size of the files to write.

    Raises:
        ArtifactError: For an unreadable, truncated or unsafe bundle, or files that do not match the manifest.
        SignatureError: If ``trust`` is given and no trusted key signed the manifest.
        InputError: If ``dest`` exists and ``overwrite`` is false, or the bundle exceeds ``max_bytes``.
    """
    bundle, dest = Path(bundle), Path(dest)
    if not bundle.is_file():
        raise InputError(f"bundle {bundle} not found (a .tar.gz written by `edge-embed package`)")
    keys = trusted_keys(trust) if trust is not None else None
    if dest.exists() and not overwrite:
        raise InputError(f"{dest} already exists; choose another folder or pass --overwrite")
    try:
        with tarfile.open(bundle, mode="r:*") as tar:
            contents = _read_contents(tar, bundle, max_bytes, dest)
            if keys is not None:
                check_trusted(contents.manifest_bytes, contents.signature, keys, str(bundle))
            elif contents.signature is not None:
                with contextlib.suppress(MissingExtraError):  # checked where cryptography is installed
                    check_signature(contents.manifest_bytes, contents.signature, str(bundle))
            with _removing_created_parents(dest), atomic_dir(dest, overwrite=overwrite) as tmp:
                for name, member in contents.files.items():
                    _extract_checked(tar, member, tmp / name, contents.manifest.files[name], bundle)
                (tmp / MANIFEST_NAME).write_bytes(contents.manifest_bytes)
                if contents.signature is not None:
                    (tmp / SIGNATURE_NAME).write_bytes(contents.signature.to_json())
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        if isinstance(exc, OSError) and exc.filename and Path(exc.filename) != bundle:
            raise ArtifactError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
        reason = (str(exc).splitlines() or [""])[0].rstrip(": ") or type(exc).__name__
        raise ArtifactError(f"{bundle} is not a readable .tar.gz bundle, or it is truncated ({reason})") from None
    return dest


def _read_contents(tar: tarfile.TarFile, bundle: Path, max_bytes: int, dest: Path) -> BundleContents:
    members = _read_member_list(tar, bundle, max_bytes)
    top = _check_members(members, bundle)
    files = _files_by_name(members, top, bundle)
    manifest_member = files.pop(MANIFEST_NAME, None)
    if manifest_member is None:
        raise ArtifactError(f"{bundle} has no {top}/{MANIFEST_NAME}: not an edge-embed bundle")
    manifest_bytes = _read_small(tar, manifest_member, bundle)
    manifest = parse_manifest(manifest_bytes, f"{bundle}:{top}/{MANIFEST_NAME}")
    check_manifest_bytes(manifest_bytes, manifest, f"{bundle}:{top}/{MANIFEST_NAME}")
    signature_member = files.pop(SIGNATURE_NAME, None)
    signature = (
        Signature.from_bytes(_read_small(tar, signature_member, bundle), f"{bundle}:{top}/{SIGNATURE_NAME}")
        if signature_member is not None
        else None
    )
    unlisted = sorted(set(files) - set(manifest.files))
    if unlisted:
        raise ArtifactError(f"{bundle} holds files its manifest does not list: {', '.join(unlisted[:5])}; refused")
    missing = sorted(set(manifest.files) - set(files))
    if missing:
        raise ArtifactError(
            f"{bundle} lacks files its manifest lists: {', '.join(missing[:5])}; the bundle is incomplete"
        )
    wrong = [n for n, m in files.items() if n in manifest.sizes and m.size != manifest.sizes[n]]
    if wrong:
        name = wrong[0]
        raise ArtifactError(
            f"{bundle}: {top}/{name} is {files[name].size} bytes but its manifest says {manifest.sizes[name]}; refused"
        )
    total = sum(m.size for m in files.values())  # within max_bytes: _read_member_list checked the headers
    free = shutil.disk_usage(_existing_ancestor(dest)).free
    if total > free:
        raise InputError(f"{bundle} needs {total / 1e9:.2f} GB but only {free / 1e9:.2f} GB are free at {dest}")
    return BundleContents(top, files, manifest, manifest_bytes, signature)


def _read_member_list(tar: tarfile.TarFile, bundle: Path, max_bytes: int) -> list[tarfile.TarInfo]:
    """Every member header, read before anything is written (a truncated archive fails here).

    Headers are checked as they arrive: the member count and the declared total are capped before the reader skips
    over a member's data, so a bomb's size is refused at its header, not after decompressing it.
    """
    members: list[tarfile.TarInfo] = []
    total = 0
    while (member := tar.next()) is not None:
        members.append(member)
        total += member.size if member.isfile() else 0
        if len(members) > _MAX_MEMBERS:
            raise ArtifactError(f"{bundle} holds more than {_MAX_MEMBERS} entries; not an artifact bundle")
        if total > max_bytes:
            raise InputError(
                f"{bundle} would write at least {total / 1e9:.2f} GB, above the limit of {max_bytes / 1e9:.2f} GB; "
                "pass --max-bytes to allow more"
            )
    return members


def _files_by_name(members: list[tarfile.TarInfo], top: str, bundle: Path) -> dict[str, tarfile.TarInfo]:
    """Artifact-relative name -> file member; refuses duplicates and a name that is both a file and a folder."""
    files: dict[str, tarfile.TarInfo] = {}
    folders: set[str] = set()
    for member in members:
        name = PurePosixPath(member.name).relative_to(top).as_posix()
        if member.isdir():
            folders.add(name)
        elif name in files:
            raise ArtifactError(f"{bundle}: {member.name!r} appears twice; a bundle holds each file once")
        else:
            files[name] = member
    for name in files:
        parents = [p.as_posix() for p in PurePosixPath(name).parents if p.as_posix() != "."]
        clash = name if name in folders else next((p for p in parents if p in files), None)
        if clash is not None:
            raise ArtifactError(f"{bundle}: {top}/{clash} is both a file and a folder; refused")
    return files


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo, bundle: Path) -> bytes:
    if member.size > _MAX_MANIFEST_BYTES:
        raise ArtifactError(f"{bundle}: {member.name} is {member.size} bytes, too large for a manifest; refused")
    source = tar.extractfile(member)
    data = source.read() if source is not None else b""
    if len(data) != member.size:
        raise ArtifactError(f"{bundle}: {member.name} is truncated ({len(data)} of {member.size} bytes)")
    return data


def _extract_checked(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, sha256: str, bundle: Path) -> None:
    """Copy one member, at most its declared size, hashing as it goes; refuse a short or altered file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    digest, written = hashlib.sha256(), 0
    with open(target, "wb") as out:
        while source is not None and written < member.size:
            chunk = source.read(min(_CHUNK, member.size - written))
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
            written += len(chunk)
    if written != member.size:
        raise ArtifactError(f"{bundle}: {member.name} is truncated ({written} of {member.size} bytes)")
    if digest.hexdigest() != sha256:
        raise IntegrityError(
            f"{bundle}: {member.name} does not match its manifest (sha256 {digest.hexdigest()[:12]}… != "
            f"{sha256[:12]}…); the bundle was altered or corrupted"
        )


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


@contextlib.contextmanager
def _removing_created_parents(dest: Path) -> Iterator[None]:
    """On failure, remove the (empty) folders above ``dest`` that this install created."""
    dest = dest.absolute()
    missing = [p for p in dest.parents if not p.exists()]
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _check_members(members: list[tarfile.TarInfo], bundle: Path) -> str:
    """The bundle's top folder, after checking that every entry is a plain file or folder inside it."""
    if not members:
        raise ArtifactError(f"{bundle} is empty")
    tops = set()
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or member.name.startswith(("/", "\\")) or "\\" in member.name:
            raise ArtifactError(f"{bundle}: entry {member.name!r} points outside the bundle (path traversal); refused")
        if member.issym() or member.islnk():
            raise ArtifactError(
                f"{bundle}: entry {member.name!r} is a link to {member.linkname!r}; bundles hold plain files only"
            )
        if not (member.isfile() or member.isdir()):
            raise ArtifactError(f"{bundle}: entry {member.name!r} is not a plain file or folder; refused")
        if not path.parts:
            raise ArtifactError(f"{bundle}: entry {member.name!r} has no name; refused")
        tops.add(path.parts[0])
    if len(tops) != 1:
        raise ArtifactError(f"{bundle} must hold exactly one artifact folder, found {sorted(tops)}")
    return tops.pop()
