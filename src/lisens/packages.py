"""Signed license packages: their format, offline verification and the XML rendering. No database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lisens.domain.errors import Code
from lisens.domain.errors import PackageError as PackageError
from lisens.signing import verify

PACKAGE_FORMAT = "lisens-license-package/1"
MODULE_FIELDS = (
    "OwnerName",
    "LicenseType",
    "AllowedUserType",
    "ModuleName",
    "ModuleDescription",
    "ModuleTooltip",
    "ModuleVersion",
    "NumberOfLicenses",
    "Unrestricted",
    "IsHidden",
    "ExtraFlags",
    "ExtraInfo",
    "PrerequisiteModuleName",
    "SortOrder",
)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def parse_package(text: str | bytes) -> dict[str, Any]:
    try:
        document = json.loads(text, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackageError(f"the package is not JSON: {exc}", code=Code.PACKAGE_MALFORMED) from None
    except RecursionError:  # the parser gives up on deep nesting after bounded work
        raise PackageError("the package is not JSON: nested too deep", code=Code.PACKAGE_MALFORMED) from None
    if not isinstance(document, dict) or document.get("format") != PACKAGE_FORMAT:
        raise PackageError(f"not a {PACKAGE_FORMAT} document", code=Code.PACKAGE_MALFORMED)
    return document


def verify_package(document: Mapping[str, Any], public_key: Ed25519PublicKey, *, at: datetime) -> dict[str, Any]:
    """The package content if its signature is `public_key`'s and `at` is within its validity."""
    if document.get("format") != PACKAGE_FORMAT:
        raise PackageError(f"not a {PACKAGE_FORMAT} document", code=Code.PACKAGE_MALFORMED)
    body = verify(document, public_key)
    try:
        not_before = datetime.fromisoformat(str(body["not_before"]))
        not_after = datetime.fromisoformat(str(body["not_after"]))
    except (KeyError, ValueError):
        raise PackageError("the package has no valid not_before / not_after", code=Code.PACKAGE_MALFORMED) from None
    moment = at if at.tzinfo else at.replace(tzinfo=UTC)
    if moment < not_before:
        raise PackageError(f"the package is valid from {not_before.isoformat()}", code=Code.PACKAGE_NOT_YET_VALID)
    if moment >= not_after:
        raise PackageError(f"the package expired at {not_after.isoformat()}", code=Code.PACKAGE_EXPIRED)
    return body


def package_xml(document: Mapping[str, Any]) -> str:
    """The package's LicenseInfo in the element names of SuperOffice's license package, with the signature.

    A rendering for people and tools that read that format; what is verified is the JSON document.
    """
    info = document["license"]
    root = ElementTree.Element("LicenseInfo")
    for key in (
        "AdminWarningDate",
        "CompanyName",
        "DeploymentType",
        "ExpiryDate",
        "GraceDate",
        "LicenseVersion",
        "MaintenanceDate",
        "OwnerName",
        "OwnerDescription",
        "SerialNr",
    ):
        _text(root, key, info.get(key))
    modules = ElementTree.SubElement(root, "ModuleLicenses")
    for module in info["ModuleLicenses"]:
        element = ElementTree.SubElement(modules, "ModuleLicense")
        for key in MODULE_FIELDS:
            if module.get(key) is not None and not (key == "ExtraFlags" and module[key] == 0):
                _text(element, key, module[key])
    signature = document.get("signature") or {}
    element = ElementTree.SubElement(root, "Signature")
    element.set("Algorithm", str(signature.get("algorithm", "")))
    element.set("KeyId", str(signature.get("key_id", "")))
    element.text = str(signature.get("value", ""))
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode") + "\n"


def _text(parent: ElementTree.Element, tag: str, value: Any) -> None:
    if value is None:
        return
    element = ElementTree.SubElement(parent, tag)
    element.text = str(value).lower() if isinstance(value, bool) else str(value)
