"""Deployable bundles: an artifact folder as one .tar.gz for an offline device, checked file by file on unpack."""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from edge_embed.errors import ArtifactError, InputError
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.manifest import MANIFEST_NAME, read_manifest, verify_files


def package_artifact(artifact: str | Path, output: str | Path, overwrite: bool = False) -> Path:
    """Write ``artifact`` (verified first) as a gzip tarball holding one folder named after it.

    Entries are sorted, owned by nobody and timestamped with the manifest's mtime, so the same artifact gives
    a byte-identical bundle.

    Raises:
        IntegrityError: If a file of the artifact does not match its manifest.
        InputError: If ``output`` exists and ``overwrite`` is false.
    """
    folder, output = Path(artifact), Path(output)
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; choose another file or pass --overwrite")
    names = [MANIFEST_NAME, *sorted(manifest.files)]
    mtime = int((folder / MANIFEST_NAME).stat().st_mtime)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as compressed,  # no clock in the header
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in names:
                info = tarfile.TarInfo(f"{folder.name}/{name}")
                info.size, info.mtime, info.mode = (folder / name).stat().st_size, mtime, 0o644
                with open(folder / name, "rb") as handle:
                    tar.addfile(info, handle)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output


def install_artifact(bundle: str | Path, dest: str | Path, overwrite: bool = False) -> Path:
    """Unpack a bundle into the artifact folder ``dest``, refusing anything unsafe, then verify every sha256.

    Refused before a byte is written: absolute paths or ``..`` (path traversal), links of any kind, devices,
    entries outside the bundle's one top folder. After unpacking, every file must match the manifest and no
    file may be unlisted; only then does ``dest`` appear.

    Raises:
        ArtifactError: For an unreadable or unsafe bundle, or files that do not match the manifest.
        InputError: If ``dest`` exists and ``overwrite`` is false.
    """
    bundle = Path(bundle)
    try:
        tar = tarfile.open(bundle, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        reason = str(exc).splitlines()[0]
        raise ArtifactError(f"{bundle} is not a readable .tar.gz bundle ({reason})") from None
    with tar, atomic_dir(dest, overwrite=overwrite) as tmp:
        members = tar.getmembers()
        top = _check_members(members, bundle)
        for member in members:
            if member.isfile():
                target = tmp / PurePosixPath(member.name).relative_to(top)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                with open(target, "wb") as out:
                    if source is not None:
                        shutil.copyfileobj(source, out, 1 << 20)
        manifest = read_manifest(tmp)
        unlisted = sorted(
            str(p.relative_to(tmp))
            for p in tmp.rglob("*")
            if p.is_file() and p.name != MANIFEST_NAME and str(p.relative_to(tmp)) not in manifest.files
        )
        if unlisted:
            raise ArtifactError(f"{bundle} holds files its manifest does not list: {', '.join(unlisted)}")
        verify_files(tmp, manifest)
    return Path(dest)


def _check_members(members: list[tarfile.TarInfo], bundle: Path) -> str:
    """The bundle's top folder, after checking that every entry is a plain file or folder inside it."""
    if not members:
        raise ArtifactError(f"{bundle} is empty")
    tops = set()
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or member.name.startswith(("/", "\\")):
            raise ArtifactError(f"{bundle}: entry {member.name!r} points outside the bundle (path traversal); refused")
        if member.issym() or member.islnk():
            raise ArtifactError(
                f"{bundle}: entry {member.name!r} is a link to {member.linkname!r}; bundles hold plain files only"
            )
        if not (member.isfile() or member.isdir()):
            raise ArtifactError(f"{bundle}: entry {member.name!r} is not a plain file or folder; refused")
        tops.add(path.parts[0])
    if len(tops) != 1:
        raise ArtifactError(f"{bundle} must hold exactly one artifact folder, found {sorted(tops)}")
    return tops.pop()
