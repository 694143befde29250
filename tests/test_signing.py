"""Signed license packages verify offline; any change anywhere is refused; keys are kept safe."""

from __future__ import annotations

import copy
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lisens.domain.errors import InvalidInput
from lisens.packages import PACKAGE_FORMAT, package_xml, parse_package, verify_package
from lisens.signing import SignatureError, canonical, generate_keys, load_private_key, load_public_key, sign

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def package() -> dict[str, Any]:
    return sign(
        {
            "format": PACKAGE_FORMAT,
            "tenant": "acme",
            "generation": "11",
            "issued_at": "2026-05-01T00:00:00+00:00",
            "not_before": "2026-05-01T00:00:00+00:00",
            "not_after": "2027-05-13T00:00:00+00:00",
            "license": {
                "CompanyName": "Acme AS",
                "SerialNr": "4711",
                "OwnerName": "SUPEROFFICE",
                "ExpiryDate": "2027-05-01T00:00:00",
                "ModuleLicenses": [
                    {"ModuleName": "ten-sales", "NumberOfLicenses": 21, "ExtraFlags": 1, "IsHidden": False},
                    {"ModuleName": "server", "NumberOfLicenses": 1, "ExtraFlags": 0, "IsHidden": True},
                ],
            },
            "purchases": {"seats": {"sales-premium": 21}, "addons": ["cep"], "system": []},
        },
        KEY,
    )


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return f"{value}x"


def test_a_signed_package_verifies_and_its_bytes_are_canonical() -> None:
    document = package()
    assert verify_package(document, KEY.public_key(), at=NOW)["tenant"] == "acme"
    shuffled = json.loads(json.dumps(document, sort_keys=False))
    assert canonical(shuffled) == canonical(dict(reversed(list(document.items()))))


@pytest.mark.parametrize("path", [p for p in leaves(package()) if p[0] != "signature"], ids=str)
def test_changing_any_field_is_refused(path: tuple[Any, ...]) -> None:
    document = copy.deepcopy(package())
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = changed(node[path[-1]])
    with pytest.raises(SignatureError) as caught:
        verify_package(document, KEY.public_key(), at=NOW)
    assert caught.value.code in ("SIGNATURE_INVALID", "PACKAGE_MALFORMED")


def test_reordering_module_licenses_is_refused() -> None:
    document = package()
    document["license"]["ModuleLicenses"].reverse()
    with pytest.raises(SignatureError, match="changed after signing"):
        verify_package(document, KEY.public_key(), at=NOW)


def test_adding_or_removing_a_field_is_refused() -> None:
    added = package()
    added["license"]["ModuleLicenses"][0]["Unrestricted"] = True
    removed = package()
    del removed["purchases"]["addons"]
    for document in (added, removed):
        with pytest.raises(SignatureError):
            verify_package(document, KEY.public_key(), at=NOW)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (
            lambda s: s.update(value=s["value"][:-4] + ("AAAA" if not s["value"].endswith("AAAA") else "BBBB")),
            "SIGNATURE_INVALID",
        ),
        (lambda s: s.update(value="not base64!"), "SIGNATURE_INVALID"),
        (lambda s: s.update(algorithm="RSA"), "SIGNATURE_ALGORITHM"),
        (lambda s: s.pop("key_id"), "SIGNATURE_MISSING"),
    ],
)
def test_a_changed_signature_is_refused(mutate: Any, code: str) -> None:
    document = package()
    mutate(document["signature"])
    with pytest.raises(SignatureError) as caught:
        verify_package(document, KEY.public_key(), at=NOW)
    assert caught.value.code == code


def test_a_package_checked_with_the_wrong_key_is_refused_naming_both_keys() -> None:
    with pytest.raises(SignatureError) as caught:
        verify_package(package(), OTHER.public_key(), at=NOW)
    assert caught.value.code == "KEY_MISMATCH"


def test_a_package_signed_by_another_key_under_this_keys_id_is_refused() -> None:
    forged = sign({k: v for k, v in package().items() if k != "signature"}, OTHER)
    forged["signature"]["key_id"] = package()["signature"]["key_id"]
    with pytest.raises(SignatureError) as caught:
        verify_package(forged, KEY.public_key(), at=NOW)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_an_expired_or_not_yet_valid_package_is_refused() -> None:
    with pytest.raises(SignatureError) as late:
        verify_package(package(), KEY.public_key(), at=datetime(2027, 5, 13, tzinfo=UTC))
    with pytest.raises(SignatureError) as early:
        verify_package(package(), KEY.public_key(), at=datetime(2026, 4, 30, tzinfo=UTC))
    assert (late.value.code, early.value.code) == ("PACKAGE_EXPIRED", "PACKAGE_NOT_YET_VALID")


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"format": "other"}', "not json"])
def test_a_file_that_is_no_package_is_refused(text: str) -> None:
    with pytest.raises(SignatureError) as caught:
        parse_package(text)
    assert caught.value.code == "PACKAGE_MALFORMED"


def test_the_xml_rendering_uses_the_documented_element_names() -> None:
    xml = package_xml(package())
    assert xml.startswith("<LicenseInfo>")
    assert "<CompanyName>Acme AS</CompanyName>" in xml
    assert "<ModuleName>ten-sales</ModuleName>" in xml
    assert "<NumberOfLicenses>21</NumberOfLicenses>" in xml
    assert "<IsHidden>true</IsHidden>" in xml
    assert '<Signature Algorithm="Ed25519"' in xml


def test_generated_private_keys_are_mode_0600_and_never_overwritten(tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (
        load_private_key(private).public_key().public_bytes_raw()
        == load_public_key(public.read_bytes()).public_bytes_raw()
    )
    with pytest.raises(InvalidInput) as caught:
        generate_keys(tmp_path)
    assert caught.value.code == "KEY_EXISTS"


def test_a_file_that_is_no_key_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("hello")
    with pytest.raises(InvalidInput) as caught:
        load_private_key(bad)
    assert caught.value.code == "INVALID_KEY"
    with pytest.raises(InvalidInput):
        load_public_key(b"hello")


def test_expiry_uses_the_package_dates() -> None:
    body = verify_package(package(), KEY.public_key(), at=NOW + timedelta(days=300))
    assert body["not_after"] == "2027-05-13T00:00:00+00:00"
