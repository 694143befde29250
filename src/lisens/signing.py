"""Ed25519 signatures over canonical JSON: what license packages and offline snapshots are signed with.

No database, no network: app servers use this (through `lisens.offline`) to verify what they load.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lisens.domain.errors import Code, InvalidInput
from lisens.domain.errors import SignatureError as SignatureError

ALGORITHM = "Ed25519"


def canonical(document: Any) -> bytes:
    """The one byte form of a JSON document: sorted keys, no spaces, UTF-8. Same content, same bytes."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keys(directory: Path, *, name: str = "lisens") -> tuple[Path, Path]:
    """A new key pair: `name.key` (private, mode 0600, never printed) and `name.pub`."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{name}.key"
    public_path = directory / f"{name}.pub"
    if private_path.exists():
        raise InvalidInput(f"{private_path} exists already; keys are never overwritten", code=Code.KEY_EXISTS)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Created with 0600 from the start: the key is never readable by others, not even for a moment.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path.write_bytes(public_pem(key.public_key()))
    return private_path, public_path


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise InvalidInput(f"no private key at {path}", code=Code.NO_SIGNING_KEY) from None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path} is not a PEM private key: {exc}", code=Code.INVALID_KEY) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} is not an Ed25519 private key", code=Code.INVALID_KEY)
    return key


def load_public_key(data: bytes | str | Path) -> Ed25519PublicKey:
    if isinstance(data, Path):
        try:
            raw = data.read_bytes()
        except FileNotFoundError:
            raise InvalidInput(f"no public key at {data}", code=Code.INVALID_KEY) from None
    else:
        raw = data.encode() if isinstance(data, str) else data
    try:
        key = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a PEM public key: {exc}", code=Code.INVALID_KEY) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("not an Ed25519 public key", code=Code.INVALID_KEY)
    return key


def sign(document: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The document with a `signature` over the canonical bytes of everything else."""
    body = {k: v for k, v in document.items() if k != "signature"}
    value = private_key.sign(canonical(body))
    return {
        **body,
        "signature": {
            "algorithm": ALGORITHM,
            "key_id": key_id(private_key.public_key()),
            "value": base64.b64encode(value).decode("ascii"),
        },
    }


def verify(document: Mapping[str, Any], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The document without its signature, if the signature is the given key's over exactly this content."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or set(signature) != {"algorithm", "key_id", "value"}:
        raise SignatureError("the document has no well-formed signature", code=Code.SIGNATURE_MISSING)
    if signature["algorithm"] != ALGORITHM:
        raise SignatureError(
            f"unsupported signature algorithm {signature['algorithm']!r}", code=Code.SIGNATURE_ALGORITHM
        )
    expected = key_id(public_key)
    if signature["key_id"] != expected:
        raise SignatureError(
            f"signed with key {signature['key_id']!r}, but the key given is {expected!r}", code=Code.KEY_MISMATCH
        )
    try:
        value = base64.b64decode(str(signature["value"]), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature value is not base64", code=Code.SIGNATURE_INVALID) from None
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        public_key.verify(value, canonical(body))
    except InvalidSignature:
        raise SignatureError(
            "the signature does not match the content: the document was changed after signing",
            code=Code.SIGNATURE_INVALID,
        ) from None
    return body
