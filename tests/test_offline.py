"""`lisens.offline`: app servers check licenses from a signed snapshot, with no database."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import lisens.offline
from lisens.offline import SNAPSHOT_FORMAT, OfflineLicenses, SnapshotError
from lisens.signing import SignatureError, public_pem, sign

KEY = Ed25519PrivateKey.generate()
PUBLIC = public_pem(KEY.public_key())
ISSUED = 1_780_000_000.0  # a fixed clock


def snapshot(**changes: object) -> bytes:
    document = {
        "format": SNAPSHOT_FORMAT,
        "tenant": "acme",
        "generation": "11",
        "issued_at": "2026-05-28T20:26:40+00:00",
        "expires_at": "2026-05-28T21:26:40+00:00",
        "license": None,
        "users": {"alice": ["superoffice.quote-cal", "superoffice.sale-cal"], "bob": []},
        **changes,
    }
    return json.dumps(sign(document, KEY)).encode()


def test_a_fresh_snapshot_answers_has_license_locally() -> None:
    licenses = OfflineLicenses.load(snapshot(), PUBLIC, tenant="acme", now=ISSUED + 60)
    assert licenses.has_license("alice", "quote-cal")
    assert licenses.has_license("alice", "SuperOffice.Sale-Cal")
    assert not licenses.has_license("bob", "quote-cal")
    assert not licenses.has_license("nobody", "quote-cal")
    assert licenses.users == ["alice", "bob"]


def test_a_refresh_moves_to_a_newer_snapshot_and_never_back() -> None:
    current = OfflineLicenses.load(snapshot(), PUBLIC, tenant="acme", now=ISSUED + 60)
    newer_bytes = snapshot(
        issued_at="2026-05-28T20:36:40+00:00",
        expires_at="2026-05-28T21:36:40+00:00",
        users={"alice": ["superoffice.sale-cal"], "bob": []},
    )
    newer = current.refreshed(newer_bytes, PUBLIC, now=ISSUED + 660)
    assert not newer.has_license("alice", "quote-cal")  # the revocation reached the app server
    with pytest.raises(SnapshotError) as caught:
        newer.refreshed(snapshot(), PUBLIC, now=ISSUED + 700)  # the old one, replayed
    assert caught.value.code == "SNAPSHOT_SUPERSEDED"
    assert newer.refreshed(newer_bytes, PUBLIC, now=ISSUED + 700).issued_at == newer.issued_at
    with pytest.raises(SnapshotError) as other:
        newer.refreshed(snapshot(tenant="globex"), PUBLIC, now=ISSUED + 700)
    assert other.value.code == "SNAPSHOT_WRONG_TENANT"


def test_an_expired_snapshot_is_refused_on_load_and_on_use() -> None:
    with pytest.raises(SnapshotError) as caught:
        OfflineLicenses.load(snapshot(), PUBLIC, tenant="acme", now=ISSUED + 3600)
    assert caught.value.code == "SNAPSHOT_EXPIRED"
    clock = [ISSUED + 10]
    document = json.loads(snapshot())
    licenses = OfflineLicenses({k: v for k, v in document.items() if k != "signature"}, clock=lambda: clock[0])
    assert licenses.has_license("alice", "quote-cal")
    clock[0] = ISSUED + 7200
    with pytest.raises(SnapshotError):
        licenses.has_license("alice", "quote-cal")


def test_a_tampered_snapshot_is_refused() -> None:
    document = json.loads(snapshot())
    document["users"]["bob"] = ["superoffice.quote-cal"]
    with pytest.raises(SignatureError) as caught:
        OfflineLicenses.load(json.dumps(document).encode(), PUBLIC, tenant="acme", now=ISSUED + 60)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_a_snapshot_signed_with_another_key_is_refused() -> None:
    other = public_pem(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SignatureError) as caught:
        OfflineLicenses.load(snapshot(), other, tenant="acme", now=ISSUED + 60)
    assert caught.value.code == "KEY_MISMATCH"


def test_a_snapshot_of_another_tenant_is_refused_with_snapshot_wrong_tenant() -> None:
    globex = snapshot(tenant="globex", users={"gina": ["superoffice.quote-cal"]})
    with pytest.raises(SnapshotError) as caught:
        OfflineLicenses.load(globex, PUBLIC, tenant="acme", now=ISSUED + 60)
    assert caught.value.code == "SNAPSHOT_WRONG_TENANT"
    assert (caught.value.details["expected"], caught.value.details["found"]) == ("acme", "globex")
    assert "'globex'" in caught.value.message
    assert "'acme'" in caught.value.message
    assert OfflineLicenses.load(globex, PUBLIC, tenant="globex", now=ISSUED + 60).has_license("gina", "quote-cal")


def test_the_expected_tenant_must_be_named() -> None:
    with pytest.raises(TypeError):
        OfflineLicenses.load(snapshot(), PUBLIC, now=ISSUED + 60)  # type: ignore[call-arg]


def test_a_signed_snapshot_lacking_a_field_is_refused_as_malformed() -> None:
    document = json.loads(snapshot())
    del document["signature"]
    del document["users"]
    with pytest.raises(SnapshotError) as caught:
        OfflineLicenses.load(json.dumps(sign(document, KEY)).encode(), PUBLIC, tenant="acme", now=ISSUED + 60)
    assert caught.value.code == "SNAPSHOT_MALFORMED"


def test_a_snapshot_from_a_file_path_loads(tmp_path: Path) -> None:
    path = tmp_path / "acme.snapshot.json"
    path.write_bytes(snapshot())
    assert OfflineLicenses.load(path, PUBLIC, tenant="acme", now=ISSUED + 1).has_license("alice", "quote-cal")


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"format": "x"}'])
def test_a_file_that_is_no_snapshot_is_refused(raw: bytes) -> None:
    with pytest.raises(SnapshotError) as caught:
        OfflineLicenses.load(raw, PUBLIC, tenant="acme", now=ISSUED)
    assert caught.value.code == "SNAPSHOT_MALFORMED"


def test_the_offline_module_needs_no_database_or_web_framework() -> None:
    forbidden = ("sqlalchemy", "fastapi", "lisens.db", "lisens.service", "lisens.api", "psycopg")
    for module in (lisens.offline, __import__("lisens.signing").signing):
        tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not [n for n in names if n.startswith(forbidden)], module.__name__
