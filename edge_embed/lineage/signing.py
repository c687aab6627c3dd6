"""Signed artifacts (optional, for fleets): an Ed25519 signature over the manifest, checked against trusted keys.

The manifest lists the sha256 of every other file, so a valid signature over its exact bytes covers the whole
artifact. The signature lives beside the manifest in ``edge_embed.json.sig``:

    {"algorithm": "ed25519", "key_id": "...", "public_key": "<base64>", "manifest_sha256": "...",
     "signature": "<base64>"}

``key_id`` is the first 16 hex digits of the sha256 of the raw public key. Trust is a set of public key files
(PEM, as ``edge-embed keygen`` writes them); a signature is only accepted when its key is one of them.
Needs ``edge-embed[sign]`` (``cryptography``); nothing here is imported by the runtime unless a trust list is given.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_embed.errors import InputError, IntegrityError, MissingExtraError
from edge_embed.lineage.hashing import sha256_bytes
from edge_embed.lineage.manifest import SIGNATURE_NAME, read_manifest_bytes

ALGORITHM = "ed25519"


class SignatureError(IntegrityError):
    """An artifact is unsigned, signed by an untrusted key, or its signature does not match its manifest."""


@dataclass(frozen=True)
class Signature:
    """The contents of ``edge_embed.json.sig``."""

    key_id: str
    public_key: bytes
    manifest_sha256: str
    signature: bytes
    algorithm: str = ALGORITHM

    def to_json(self) -> bytes:
        """The file's bytes."""
        data = {
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_key).decode(),
            "manifest_sha256": self.manifest_sha256,
            "signature": base64.b64encode(self.signature).decode(),
        }
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> Signature:
        """Parse a signature file.

        Raises:
            SignatureError: If it is not a well-formed Ed25519 signature record.
        """
        try:
            raw = json.loads(data.decode("utf-8"))
            if not isinstance(raw, dict) or raw.get("algorithm") != ALGORITHM:
                raise ValueError(f"algorithm must be {ALGORITHM!r}")
            signature = cls(
                key_id=_text(raw, "key_id"),
                public_key=base64.b64decode(_text(raw, "public_key"), validate=True),
                manifest_sha256=_text(raw, "manifest_sha256"),
                signature=base64.b64decode(_text(raw, "signature"), validate=True),
            )
            if signature.to_json() != data:  # any change to the file shows, even one that keeps its meaning
                raise ValueError("it was edited: its bytes differ from the form edge-embed writes")
            return signature
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, binascii.Error) as exc:
            raise SignatureError(f"{where} is not a valid signature file ({exc})") from None


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise MissingExtraError("signed artifacts need cryptography: pip install 'edge-embed[sign]'") from None
    return ed25519


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key (16 hex digits of its sha256)."""
    return sha256_bytes(public_key)[:16]


def generate_keypair(private_path: str | Path, public_path: str | Path | None = None) -> tuple[Path, Path, str]:
    """Write a new Ed25519 key pair: the private key (PEM, mode 0600) and its public key (PEM).

    Args:
        private_path: Where to write the private key; refused if it exists.
        public_path: Where to write the public key; ``private_path`` + ``.pub`` when None.

    Returns:
        The two paths and the key id.

    Raises:
        InputError: If either file already exists.
    """
    from cryptography.hazmat.primitives import serialization

    ed25519 = _crypto()
    private_path = Path(private_path)
    public_path = Path(public_path) if public_path else private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists():
            raise InputError(f"{path} already exists; keys are never overwritten (choose another name)")
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(public_pem)
    return private_path, public_path, key_id(_raw_public(key.public_key()))


def _raw_public(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _load_key(path: Path, private: bool) -> Any:
    """An Ed25519 key object from a PEM file (``edge-embed keygen`` writes both kinds).

    Raises:
        InputError: If the file is unreadable, not PEM, or not an Ed25519 key of that kind.
    """
    from cryptography.hazmat.primitives import serialization

    ed25519 = _crypto()
    what, kind = ("private key", ed25519.Ed25519PrivateKey) if private else ("trusted key", ed25519.Ed25519PublicKey)
    try:
        data = path.read_bytes()
        key = (
            serialization.load_pem_private_key(data, password=None)
            if private
            else serialization.load_pem_public_key(data)
        )
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        form = "an unencrypted PEM private key" if private else "a PEM public key"
        raise InputError(f"{path} is not {form} ({exc})") from None
    if not isinstance(key, kind):
        raise InputError(
            f"{path} is not an Ed25519 {'private' if private else 'public'} key (edge-embed keygen writes one)"
        )
    return key


def load_public_key(path: str | Path) -> bytes:
    """The raw 32 bytes of an Ed25519 public key file (PEM).

    Raises:
        InputError: If the file is unreadable or not an Ed25519 public key.
    """
    return _raw_public(_load_key(Path(path), private=False))


def sign_manifest(manifest_bytes: bytes, private_key: str | Path) -> Signature:
    """Sign the exact bytes of a manifest with a private key file."""
    key = _load_key(Path(private_key), private=True)
    public = _raw_public(key.public_key())
    return Signature(
        key_id=key_id(public),
        public_key=public,
        manifest_sha256=sha256_bytes(manifest_bytes),
        signature=key.sign(manifest_bytes),
    )


def check_signature(manifest_bytes: bytes, signature: Signature, where: str) -> None:
    """Check that ``signature`` is a valid Ed25519 signature of ``manifest_bytes`` by the key it names.

    Raises:
        SignatureError: If the manifest changed since it was signed, or the signature is forged.
    """
    ed25519 = _crypto()
    from cryptography.exceptions import InvalidSignature

    if signature.manifest_sha256 != sha256_bytes(manifest_bytes):
        raise SignatureError(f"{where}: the manifest changed after it was signed (sha256 differs); refused")
    if key_id(signature.public_key) != signature.key_id:
        raise SignatureError(f"{where}: the signature's key_id does not match its public key; refused")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(signature.public_key).verify(signature.signature, manifest_bytes)
    except (InvalidSignature, ValueError):
        raise SignatureError(f"{where}: the signature does not match the manifest; refused") from None


def read_signature(folder: str | Path) -> Signature | None:
    """The artifact's signature, or None if it is unsigned.

    Raises:
        SignatureError: If the signature file exists but is malformed.
    """
    path = Path(folder) / SIGNATURE_NAME
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise SignatureError(f"{path} is not a plain file; refused")
    if not path.is_file():
        return None
    return Signature.from_bytes(path.read_bytes(), str(path))


def trusted_keys(keys: Iterable[str | Path | bytes]) -> dict[str, bytes]:
    """Key id -> raw public key, from key files (or raw 32-byte keys)."""
    raw = [k if isinstance(k, bytes) else load_public_key(k) for k in keys]
    return {key_id(k): k for k in raw}


def verify_trusted(folder: str | Path, trust: Iterable[str | Path | bytes]) -> tuple[Signature, bytes]:
    """Refuse an artifact whose manifest is not signed by one of the ``trust`` keys.

    Args:
        folder: The artifact folder.
        trust: Trusted public key files (PEM) or raw keys.

    Returns:
        The accepted signature and the manifest bytes it covers (parse these, not the file again).

    Raises:
        SignatureError: If the artifact is unsigned, signed by another key, or its signature is invalid.
        InputError: If ``trust`` is empty or a key file cannot be read.
    """
    folder = Path(folder)
    keys = trusted_keys(trust)  # a bad key file is the caller's error, whatever the artifact holds
    signature = read_signature(folder)
    manifest_bytes = read_manifest_bytes(folder)
    return check_trusted(manifest_bytes, signature, keys, str(folder)), manifest_bytes


def check_trusted(manifest_bytes: bytes, signature: Signature | None, keys: dict[str, bytes], where: str) -> Signature:
    """Accept ``signature`` only if it is valid for ``manifest_bytes`` and made by one of ``keys``.

    Raises:
        SignatureError: If unsigned, signed by an untrusted key, or invalid.
        InputError: If ``keys`` is empty.
    """
    if not keys:
        raise InputError("a trust list needs at least one public key file (edge-embed keygen writes one)")
    if signature is None:
        raise SignatureError(
            f"{where} is unsigned and a trusted signature is required; sign it with `edge-embed sign` and a trusted key"
        )
    if keys.get(signature.key_id) != signature.public_key:
        raise SignatureError(
            f"{where} is signed by key {signature.key_id}, which is not among the trusted keys "
            f"({', '.join(sorted(keys))}); refused"
        )
    check_signature(manifest_bytes, signature, where)
    return signature


def sign_artifact(folder: str | Path, private_key: str | Path) -> Signature:
    """Verify an artifact (every sha256, its seal, no unlisted file) and write its ``edge_embed.json.sig``.

    Raises:
        IntegrityError: If the artifact does not verify: a signature must never vouch for a damaged artifact.
        InputError: If the key file is not an Ed25519 private key.
    """
    from edge_embed.lineage.atomic import atomic_write_bytes
    from edge_embed.lineage.verify import verify_artifact

    folder = Path(folder)
    verify_artifact(folder, check_signature=False)
    signature = sign_manifest(read_manifest_bytes(folder), private_key)
    atomic_write_bytes(folder / SIGNATURE_NAME, signature.to_json())
    return signature
