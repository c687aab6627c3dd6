"""Drift samples from texts, and reference profiles: a small file a device keeps instead of the reference texts.

A profile holds a seeded sample of the reference's embeddings and its token statistics, tied to the manifest sha256
of the artifact that embedded them: vectors from another model are not comparable, so a profile from another
artifact is refused, naming both hashes.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge_embed.data.texts import read_domain_texts
from edge_embed.errors import InputError
from edge_embed.lifecycle.drift import Sample, TokenStats
from edge_embed.lineage.manifest import manifest_sha256
from edge_embed.runtime.embedder import Embedder

PROFILE_VERSION = 1
DEFAULT_SAMPLE = 500  # texts per side: MMD's permutation test stays around a second
CURRENT_SEED = 29  # the current sample's seed: another draw than the reference's (13) from a shared source


def unknown_token_id(embedder: Embedder) -> int | None:
    """The id of the tokenizer's unknown token, if its model has one."""
    tokenizer = embedder._tokenizer
    token = getattr(tokenizer.model, "unk_token", None)
    return tokenizer.token_to_id(token) if token else None


def embed_sample(embedder: Embedder, texts: list[str], batch_size: int = 32) -> Sample:
    """Embed ``texts`` as documents and measure their token statistics."""
    vectors = embedder.embed(texts, batch_size=batch_size)
    tokens = TokenStats.of(embedder.tokenize(texts), unknown_token_id(embedder))
    return Sample(vectors=vectors, tokens=tokens, texts=tuple(texts))


def read_sample(embedder: Embedder, path: str | Path, limit: int = DEFAULT_SAMPLE, seed: int = 13) -> Sample:
    """Read up to ``limit`` texts (BEIR corpus, ``.jsonl`` or text lines; seeded sample) and embed them."""
    texts = read_domain_texts(path, limit, seed=seed).texts
    return embed_sample(embedder, texts)


@dataclass(frozen=True)
class DriftProfile:
    """The reference side of a drift check, saved for a device."""

    manifest_sha256: str
    sample: Sample
    source: str
    created_at: str

    @classmethod
    def of(cls, artifact: str | Path, sample: Sample, source: str) -> DriftProfile:
        """A profile of ``sample``, embedded by ``artifact``."""
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(manifest_sha256(artifact), sample, source, created)

    def save(self, path: str | Path) -> Path:
        """Write the profile (``.npz``) atomically."""
        from edge_embed.lineage.atomic import atomic_write_bytes

        meta = {
            "profile_version": PROFILE_VERSION,
            "manifest_sha256": self.manifest_sha256,
            "source": self.source,
            "created_at": self.created_at,
            "tokens": {
                "unknown_rate": self.sample.tokens.unknown_rate,
                "tokens_per_word": self.sample.tokens.tokens_per_word,
            },
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, vectors=self.sample.vectors.astype(np.float32), meta=np.array(json.dumps(meta)))
        atomic_write_bytes(Path(path), buffer.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, artifact: str | Path) -> DriftProfile:
        """Read a profile and check it was made with ``artifact``.

        Raises:
            InputError: If the file is not a profile, or was made with another artifact (both hashes named).
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                vectors, meta = data["vectors"], json.loads(str(data["meta"]))
            tokens = TokenStats(float(meta["tokens"]["unknown_rate"]), float(meta["tokens"]["tokens_per_word"]))
            profile = cls(
                str(meta["manifest_sha256"]), Sample(vectors, tokens), str(meta["source"]), str(meta["created_at"])
            )
            version = meta["profile_version"]
        except OSError as exc:
            raise InputError(f"cannot read drift profile {path}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            raise InputError(
                f"{path} is not a drift profile (an .npz written by edge-embed drift --save-profile)"
            ) from None
        if version != PROFILE_VERSION:
            raise InputError(f"{path} is a version {version} drift profile; this edge-embed reads {PROFILE_VERSION}")
        expected = manifest_sha256(artifact)
        if profile.manifest_sha256 != expected:
            raise InputError(
                f"{path} was made with artifact {profile.manifest_sha256[:12]}…, not {artifact} ({expected[:12]}…): "
                "embeddings of different artifacts cannot be compared; save a profile with this artifact"
            )
        return profile
