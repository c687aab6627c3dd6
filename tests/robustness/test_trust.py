"""Signed and sealed artifacts (issue #14): a hand-edited manifest shows, and a device can insist on a trusted key.

Before this change, editing ``pooling``, ``normalize`` or ``max_seq_length`` changed every vector while
``info --verify`` said ok; there were no signatures.
"""

import json
import random
import shutil

import pytest

pytest.importorskip("cryptography", reason="signed artifacts need the [sign] extra")

from edge_embed import Embedder  # noqa: E402
from edge_embed.cli.main import main  # noqa: E402
from edge_embed.deploy import install_artifact, package_artifact  # noqa: E402
from edge_embed.errors import EdgeEmbedError, InputError, IntegrityError  # noqa: E402
from edge_embed.lineage.manifest import MANIFEST_NAME, SIGNATURE_NAME, read_manifest  # noqa: E402
from edge_embed.lineage.signing import SignatureError, generate_keypair, sign_artifact  # noqa: E402
from edge_embed.lineage.verify import verify_artifact  # noqa: E402
from tests.helpers.toy import make_toy_artifact  # noqa: E402


@pytest.fixture
def keys(tmp_path):
    private, public, _ = generate_keypair(tmp_path / "keys" / "fleet")
    other_private, other_public, _ = generate_keypair(tmp_path / "keys" / "other")
    return {"private": private, "public": public, "other_private": other_private, "other_public": other_public}


def hand_edit(folder, key, value):
    path = folder / MANIFEST_NAME
    data = json.loads(path.read_text())
    data[key] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


@pytest.mark.parametrize(("key", "value"), [("pooling", "cls"), ("normalize", False), ("max_seq_length", 4)])
def test_a_hand_edited_manifest_is_refused_on_load_and_reported_by_verify(tmp_path, capsys, key, value):
    folder = make_toy_artifact(tmp_path / "toy")
    Embedder(folder)
    hand_edit(folder, key, value)
    with pytest.raises(IntegrityError, match="was edited after it was written"):
        Embedder(folder)
    assert main(["info", str(folder), "--verify"]) == 1
    assert "was edited after it was written" in capsys.readouterr().err
    Embedder(folder, verify=False)  # the user may still opt out, as for file hashes


def test_a_layout_only_edit_shows_too(tmp_path):
    folder = make_toy_artifact(tmp_path / "toy")
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(json.loads(path.read_text())))  # same content, compact layout
    with pytest.raises(IntegrityError, match="bytes differ from the form edge-embed writes"):
        verify_artifact(folder)


def test_verify_says_plainly_that_an_artifact_is_unsigned(tmp_path, capsys):
    folder = make_toy_artifact(tmp_path / "toy")
    assert main(["info", str(folder), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "manifest seal matches" in out and "unsigned: nothing proves who made this artifact" in out


def test_unlisted_files_are_refused_by_verify(tmp_path):
    folder = make_toy_artifact(tmp_path / "toy")
    (folder / "extra.bin").write_bytes(b"x")
    with pytest.raises(EdgeEmbedError, match="files its manifest does not list: extra.bin"):
        verify_artifact(folder)


def test_sign_then_load_with_trust(tmp_path, keys, capsys):
    folder = make_toy_artifact(tmp_path / "toy")
    assert main(["sign", str(folder), "--key", str(keys["private"])]) == 0
    assert (folder / SIGNATURE_NAME).is_file()
    Embedder.load(folder, trust=[keys["public"]])
    assert main(["info", str(folder), "--verify", "--trust", str(keys["public"])]) == 0
    assert "signature valid" in capsys.readouterr().out
    with pytest.raises(SignatureError, match="not among the trusted keys"):
        Embedder.load(folder, trust=[keys["other_public"]])


def test_an_unsigned_artifact_is_refused_when_trust_is_required(tmp_path, keys):
    folder = make_toy_artifact(tmp_path / "toy")
    with pytest.raises(SignatureError, match="unsigned and a trusted signature is required"):
        Embedder.load(folder, trust=[keys["public"]])


def test_a_signed_then_edited_manifest_is_refused(tmp_path, keys):
    folder = make_toy_artifact(tmp_path / "toy")
    sign_artifact(folder, keys["private"])
    manifest = read_manifest(folder)
    # An attacker who knows the format re-seals the edit; only the signature can catch this.
    from edge_embed.lineage.manifest import write_manifest

    write_manifest(folder, manifest.replace(normalize=False))
    Embedder.load(folder)  # seal is valid: without trust the edit is accepted (a new, unsigned author)
    with pytest.raises(SignatureError, match="changed after it was signed"):
        Embedder.load(folder, trust=[keys["public"]])


def test_signing_refuses_a_damaged_artifact(tmp_path, keys):
    folder = make_toy_artifact(tmp_path / "toy")
    with open(folder / "model.onnx", "r+b") as handle:
        handle.seek(10)
        byte = handle.read(1)
        handle.seek(10)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IntegrityError):
        sign_artifact(folder, keys["private"])
    assert not (folder / SIGNATURE_NAME).exists()


def test_package_sign_and_install_trust(tmp_path, keys, capsys):
    folder = make_toy_artifact(tmp_path / "toy")
    bundle = tmp_path / "toy.tar.gz"
    assert main(["package", str(folder), "-o", str(bundle), "--sign", str(keys["private"])]) == 0
    assert not (folder / SIGNATURE_NAME).exists()  # the source folder is not changed
    dest = tmp_path / "device" / "toy"
    assert main(["install-artifact", str(bundle), str(dest), "--trust", str(keys["public"])]) == 0
    Embedder.load(dest, trust=[keys["public"]])
    capsys.readouterr()
    refused = tmp_path / "device2" / "toy"
    assert main(["install-artifact", str(bundle), str(refused), "--trust", str(keys["other_public"])]) == 1
    assert "not among the trusted keys" in capsys.readouterr().err
    assert not (tmp_path / "device2").exists()  # nothing left, not even DEST's parent
    unsigned = package_artifact(folder, tmp_path / "unsigned.tar.gz")
    with pytest.raises(SignatureError, match="unsigned"):
        install_artifact(unsigned, tmp_path / "device3" / "toy", trust=[keys["public"]])
    assert not (tmp_path / "device3").exists()


def test_keygen_never_overwrites_and_bad_keys_are_one_line(tmp_path, keys, capsys):
    assert main(["keygen", str(keys["private"])]) == 2
    assert "already exists" in capsys.readouterr().err
    assert keys["private"].stat().st_mode & 0o777 == 0o600
    folder = make_toy_artifact(tmp_path / "toy")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(InputError, match="not a PEM public key"):
        Embedder.load(folder, trust=[tmp_path / "junk.pem"])
    with pytest.raises(InputError, match="not an unencrypted PEM private key"):
        sign_artifact(folder, tmp_path / "junk.pem")
    with pytest.raises(InputError, match="not an Ed25519 private key|not an unencrypted PEM private key"):
        sign_artifact(folder, keys["public"])


def _flip(path, rng):
    data = bytearray(path.read_bytes())
    offset = rng.randrange(len(data))
    data[offset] ^= rng.randrange(1, 256)
    path.write_bytes(bytes(data))


def test_1000_byte_flips_in_a_signed_artifact_are_all_refused(tmp_path, keys):
    pristine = make_toy_artifact(tmp_path / "pristine")
    sign_artifact(pristine, keys["private"])
    names = sorted(p.name for p in pristine.iterdir())
    assert {MANIFEST_NAME, SIGNATURE_NAME, "model.onnx", "tokenizer.json"} <= set(names)
    rng = random.Random(14)
    work = shutil.copytree(pristine, tmp_path / "work")
    refused = {name: 0 for name in names}
    for _ in range(1000):
        name = rng.choice(names)
        _flip(work / name, rng)
        with pytest.raises(EdgeEmbedError):
            Embedder.load(work, trust=[keys["public"]])
        refused[name] += 1
        shutil.copyfile(pristine / name, work / name)
    assert sum(refused.values()) == 1000 and all(refused.values())


def test_byte_flips_in_an_unsigned_artifact_are_refused_on_load_and_by_verify(tmp_path):
    pristine = make_toy_artifact(tmp_path / "pristine")
    names = sorted(p.name for p in pristine.iterdir())
    rng = random.Random(41)
    work = shutil.copytree(pristine, tmp_path / "work")
    for _ in range(600):
        name = rng.choice(names)
        _flip(work / name, rng)
        with pytest.raises(EdgeEmbedError):
            Embedder.load(work)
        with pytest.raises(EdgeEmbedError):
            verify_artifact(work)
        shutil.copyfile(pristine / name, work / name)


def test_embed_and_serve_take_trust(tmp_path, keys, capsys):
    folder = make_toy_artifact(tmp_path / "toy")
    assert main(["embed", str(folder), "pump", "--trust", str(keys["public"])]) == 1
    assert "unsigned and a trusted signature is required" in capsys.readouterr().err
    sign_artifact(folder, keys["private"])
    assert main(["embed", str(folder), "pump", "--trust", str(keys["public"])]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["index"] == 0
    assert main(["serve", str(folder), "--trust", str(keys["other_public"]), "--port", "1"]) == 1
    assert "not among the trusted keys" in capsys.readouterr().err
