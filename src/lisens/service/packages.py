"""Issue and activate signed license packages; issue signed snapshots for offline checks."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lisens.db.repositories import AuditRepository, PurchaseRepository, SubscriptionRepository, UserRepository
from lisens.domain.decide import held
from lisens.domain.errors import Code, Conflict, InvalidInput, LisensError
from lisens.domain.names import SUPEROFFICE, is_license_item, is_superoffice_item, seat_kind
from lisens.domain.seats import SeatCount
from lisens.domain.times import utc
from lisens.offline import SNAPSHOT_FORMAT
from lisens.packages import PACKAGE_FORMAT, PackageError, parse_package, verify_package
from lisens.service.cache import SnapshotCache, SnapshotKey
from lisens.service.clock import change_time
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.decisions import holders, term_of
from lisens.service.licenses import license_rows
from lisens.service.results import PackageActivationRead
from lisens.service.state import TenantState, load_state
from lisens.service.superoffice import license_info
from lisens.service.superoffice_carriers import ExtendedLicenseInfo
from lisens.service.tenants import apply_due_schedules
from lisens.service.users import license_term
from lisens.signing import canonical, key_id, sign

DEFAULT_VALIDITY = timedelta(days=365)
MAX_SNAPSHOT_TTL = timedelta(days=31)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def build_package(ctx: Context, tenant: str, *, at: datetime, sequence: int, lower_now: bool = False) -> dict[str, Any]:
    """The unsigned package: SUPEROFFICE's LicenseInfo for the tenant, and the purchases behind it.

    A JSON document, kept as one: it is signed over its canonical bytes (`PackageRead` describes it).

    `sequence` numbers the tenant's packages: activation only ever moves to a higher one. `lower_now`
    is the vendor's word that lower numbers apply at activation instead of at the end of the term.
    """
    state = load_state(ctx, tenant)
    moment = utc(at)
    rows = license_rows(ctx, state)
    info = {
        key: _iso(value)
        for key, value in license_info(ctx, state, SUPEROFFICE, rows, day=moment.date()).model_dump().items()
    }
    info.pop("PublicKey", None)
    info.pop("Signature", None)
    grace = info.get("GraceDate")
    not_after = datetime.fromisoformat(grace).replace(tzinfo=moment.tzinfo) if grace else moment + DEFAULT_VALIDITY
    snapshot = state.snapshot()
    return {
        "format": PACKAGE_FORMAT,
        "tenant": state.row.name,
        "generation": state.row.generation,
        "sequence": sequence,
        "issued_at": moment.isoformat(),
        "not_before": moment.isoformat(),
        "not_after": not_after.isoformat(),
        "lowering": "now" if lower_now else "term_end",
        "license": info,
        "purchases": {
            "seats": {k: v for k, v in snapshot["seats"].items() if is_superoffice_item(k)},
            "addons": snapshot["addons"],
            "system": [name for name in snapshot["system"] if name.startswith("superoffice.")],
        },
    }


def issue_package(
    ctx: Context,
    tenant: str,
    private_key: Ed25519PrivateKey,
    *,
    at: datetime | None = None,
    lower_now: bool = False,
) -> dict[str, Any]:
    """Sign the tenant's current licenses as its next package (sequence number one higher than the last).

    The signed package is a JSON document and stays one: its signature covers its canonical bytes, so it is
    answered as signed (`PackageRead` describes it).
    """
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row, at)
    state.row.package_issued += 1
    package = sign(
        build_package(ctx, tenant, at=at, sequence=state.row.package_issued, lower_now=lower_now), private_key
    )
    AuditRepository(ctx.session).add(
        state.id,
        at=at,
        actor=ctx.actor,
        action="package.issue",
        subject=tenant,
        after={
            "sequence": package["sequence"],
            "key_id": package["signature"]["key_id"],
            "not_after": package["not_after"],
            "lowering": package["lowering"],
        },
    )
    return package


def _module_numbers(info: Mapping[str, Any]) -> dict[str, int]:
    return {str(m["ModuleName"]): int(m["NumberOfLicenses"]) for m in info.get("ModuleLicenses", [])}


def _require_newer(state: TenantState, body: Mapping[str, Any]) -> int:
    """Signed things only move forward: a package at or below the active sequence is refused, whoever sends it."""
    sequence = body.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise PackageError(
            "the package has no sequence number; ask the vendor for a new package", code=Code.PACKAGE_SUPERSEDED
        )
    if sequence <= state.row.package_active:
        raise Conflict(
            f"package {sequence} of tenant {state.row.name!r} is superseded: package {state.row.package_active} "
            "is active, and packages only move forward",
            code=Code.PACKAGE_SUPERSEDED,
            sequence=sequence,
            active=state.row.package_active,
        )
    return sequence


def activate_package(
    ctx: Context,
    tenant: str,
    document: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    *,
    dry_run: bool = False,
) -> PackageActivationRead:
    """Verify, show what changes, and replace the tenant's licenses with the package's, all or nothing.

    Validity is judged by the server's clock. A package older than or equal to the active one is
    refused (PACKAGE_SUPERSEDED). Lower numbers follow the rule of lowering seats directly: with a
    subscription they wait for the end of the current term, unless the vendor issued the package to
    lower them at once; a lowering applied at once below what is in use is refused ("remove
    superfluous licenses"), with the number in use, new total, how many to remove and who holds them.
    """
    body = verify_package(document, public_key, at=ctx.now())
    apply_due_schedules(ctx, tenant)
    state = load_state(ctx, tenant, lock=True)
    at = change_time(ctx, state.row)
    if body.get("tenant") != state.row.name or body.get("generation") != state.row.generation:
        raise PackageError(
            f"the package is for tenant {body.get('tenant')!r} (generation {body.get('generation')}), "
            f"not {state.row.name!r} (generation {state.row.generation})",
            code=Code.PACKAGE_WRONG_TENANT,
        )
    sequence = _require_newer(state, body)
    purchases = body.get("purchases")
    if not isinstance(purchases, dict):
        raise PackageError("the package has no purchases", code=Code.PACKAGE_MALFORMED)
    new_seats: dict[str, int] = {str(k): int(v) for k, v in purchases.get("seats", {}).items()}
    term = None
    contract = contract_of(ctx, state.id)
    if contract is not None and body.get("lowering") != "now":
        term = contract.term_at(at.date())
    scheduled: dict[str, int] = {}
    if term is not None:
        for item, current in state.seats.items():
            if is_superoffice_item(item) and new_seats.get(item, 0) < current.number:
                scheduled[item] = new_seats.get(item, 0)
                new_seats[item] = current.number  # kept until the term ends
    changes = _diff(ctx, state, body)
    superfluous = _superfluous(ctx, state, new_seats)
    report: dict[str, Any] = {
        "tenant": tenant,
        "sequence": sequence,
        "changes": changes,
        "superfluous": superfluous,
        "scheduled": [
            {"item": item, "number": number, "effective": term.end.isoformat()}
            for item, number in sorted(scheduled.items())
            if term is not None
        ],
        "activated": False,
    }
    if superfluous:
        raise Conflict(
            "the package lowers licenses below what is in use; remove superfluous licenses first: "
            + "; ".join(
                f"{s['item']}: {s['in_use']} in use, new total {s['new_total']}, remove {s['remove']}"
                for s in superfluous
            ),
            code=Code.SUPERFLUOUS_LICENSES,
            superfluous=superfluous,
            changes=changes,
        )
    if dry_run:
        return PackageActivationRead.model_validate(report)
    before = state.snapshot()
    repo = PurchaseRepository(ctx.session)
    for item in sorted(set(state.seats) | set(new_seats)):
        if not is_superoffice_item(item):
            continue  # partner owners' licenses are not in SUPEROFFICE's package
        kind = seat_kind(item)
        repo.set_seats(state.id, kind=kind, item=item, number=new_seats.get(item, 0))
    subscriptions = SubscriptionRepository(ctx.session)
    for item, number in sorted(scheduled.items()):
        assert term is not None
        subscriptions.schedule(state.id, effective=term.end, item=item, number=number, requested_at=at)
    new_addons = set(purchases.get("addons", []))
    for key in set(state.addons) - new_addons:
        repo.remove_addon(state.id, key)
    for key in sorted(new_addons - set(state.addons)):
        state.catalog.require_addon(key)
        repo.add_addon(state.id, key)
    new_system = set(purchases.get("system", []))
    for name in set(state.system) - new_system:
        repo.remove_system(state.id, name)
    for name in sorted(new_system - set(state.system)):
        repo.add_system(state.id, name)
    info = body.get("license", {})
    state.row.company = str(info.get("CompanyName") or state.row.company)
    state.row.serial = str(info.get("SerialNr") or state.row.serial)
    state.row.package_active = sequence
    ctx.session.flush()
    fresh = load_state(ctx, tenant)
    AuditRepository(ctx.session).add(
        state.id,
        at=at,
        actor=ctx.actor,
        action="package.activate",
        subject=f"{tenant} package {sequence}",
        before=before,
        after=fresh.snapshot(),
    )
    state.row.version += 1
    ctx.session.flush()
    return PackageActivationRead.model_validate({**report, "activated": True})


def _diff(ctx: Context, state: TenantState, body: Mapping[str, Any]) -> dict[str, Any]:
    current = {row.info.module: row.total for row in license_rows(ctx, state) if row.info.owner == SUPEROFFICE}
    new = _module_numbers(body.get("license", {}))
    return {
        "added": sorted(set(new) - set(current)),
        "removed": sorted(set(current) - set(new)),
        "changed": {
            name: {"from": current[name], "to": new[name]}
            for name in sorted(set(new) & set(current))
            if new[name] != current[name]
        },
    }


def _superfluous(ctx: Context, state: TenantState, new_seats: Mapping[str, int]) -> list[dict[str, Any]]:
    users = UserRepository(ctx.session)
    found = []
    items = {item for item in state.seats if is_superoffice_item(item)} | set(new_seats)
    for item in sorted(items):
        holders = (
            users.holders_of_license(state.id, item) if is_license_item(item) else users.holders_of_plan(state.id, item)
        )
        total = new_seats.get(item, 0)
        info = state.get_license(item) if is_license_item(item) else None
        if info is not None and info.unrestricted:
            continue
        seats = SeatCount(total, len(holders))
        if seats.over:
            found.append(
                {
                    "item": item,
                    "in_use": len(holders),
                    "new_total": total,
                    "remove": seats.over,
                    "holders": holders,
                }
            )
    return found


def issue_snapshot(
    ctx: Context,
    tenant: str,
    private_key: Ed25519PrivateKey,
    *,
    at: datetime,
    ttl: timedelta,
    cache: SnapshotCache | None = None,
) -> dict[str, Any]:
    """Who holds which module licenses, signed, valid for `ttl` (at most a month).

    The signed snapshot is a JSON document and stays one: its signature covers its canonical bytes, and
    the route writes it as it is (`SnapshotRead` describes it).

    With a `cache`, a snapshot issued for the same tenant version, TTL, license dates and signing
    key a short while ago (a tenth of the TTL, at most 5 minutes) is served again as it was issued.
    """
    if ttl <= timedelta(0) or ttl > MAX_SNAPSHOT_TTL:
        raise InvalidInput(
            f"snapshot TTL {ttl} must be more than 0 and at most {MAX_SNAPSHOT_TTL}", code=Code.INVALID_TTL
        )
    state = load_state(ctx, tenant)
    moment = utc(at)
    term = term_of(ctx, state, moment)
    dates = license_term(term)
    key = SnapshotKey(
        tenant_id=state.id,
        version=state.row.version,
        ttl_s=int(ttl.total_seconds()),
        key_id=key_id(private_key.public_key()),
        license_dates=tuple(sorted((dates or {}).items())),
    )
    if cache is not None:
        found = cache.get(key, moment)
        if found is not None:
            return found
    document = {
        "format": SNAPSHOT_FORMAT,
        "tenant": state.row.name,
        "generation": state.row.generation,
        "issued_at": moment.isoformat(),
        "expires_at": (moment + ttl).isoformat(),
        "license": dates,
        "users": {name: list(held(holder, term)) for name, holder in holders(ctx, state).items()},
    }
    signed = sign(document, private_key)
    if cache is not None:
        cache.put(key, moment, signed)
    return signed


# ---------------------------------------------------------------- the SuperOffice forms of activation


def _encode(package: Mapping[str, Any]) -> str:
    """A package carried in LicenseInfo.Signature, so that Validate/ActivateLicenseInfo can verify it."""
    return base64.b64encode(canonical(package)).decode("ascii")


def _decode(extended: Mapping[str, Any]) -> dict[str, Any]:
    new = _get(extended, "New")
    signature = _get(new, "Signature") if isinstance(new, Mapping) else None
    if not isinstance(signature, str) or not signature:
        raise PackageError(
            "NewLicense.New.Signature does not carry a Lisens package (use GetLicenseFromFile first)",
            code=Code.PACKAGE_MALFORMED,
        )
    try:
        return parse_package(base64.b64decode(signature, validate=True))
    except (binascii.Error, ValueError):
        raise PackageError("NewLicense.New.Signature is not a Lisens package", code=Code.PACKAGE_MALFORMED) from None


def _get(mapping: Any, key: str) -> Any:
    """A member by name, case-insensitively (clients send camelCase)."""
    if not isinstance(mapping, Mapping):
        return None
    lowered = key.lower()
    for name, value in mapping.items():
        if str(name).lower() == lowered:
            return value
    return None


def license_from_file(
    ctx: Context, tenant: str, file_content: str, public_key: Ed25519PublicKey
) -> ExtendedLicenseInfo:
    """GetLicenseFromFile: the package as an ExtendedLicenseInfo next to the current license, with what
    activation would change; nothing is stored."""
    document = parse_package(file_content)
    body = verify_package(document, public_key, at=ctx.now())
    state = load_state(ctx, tenant)
    rows = {row.info.module: row for row in license_rows(ctx, state) if row.info.owner == SUPEROFFICE}
    current = {
        key: _iso(value)
        for key, value in license_info(ctx, state, SUPEROFFICE, list(rows.values())).model_dump().items()
    }
    new = dict(body["license"])
    new["PublicKey"] = None
    new["Signature"] = _encode(document)
    new_modules = {str(m["ModuleName"]): m for m in new.get("ModuleLicenses", [])}
    current_modules = {str(m["ModuleName"]): m for m in current.get("ModuleLicenses", [])}
    extended = []
    for name in sorted(set(new_modules) | set(current_modules)):
        row = rows.get(name)
        in_use = row.in_use if row else 0
        total = row.total if row else 0
        new_total = int(new_modules[name]["NumberOfLicenses"]) if name in new_modules else 0
        extended.append(
            {
                "New": new_modules.get(name),
                "Current": current_modules.get(name),
                "NumberOfLicensesInUse": in_use,
                "NumberOfLicensesFree": SeatCount(total, in_use).free,
                "NumberOfLicensesAdded": new_total - total,
                "NumberOfLicensesNewTotal": new_total,
                "NumberOfLicensesNewFree": SeatCount(new_total, in_use).free,
                "NumberOfLicensesTotal": total,
            }
        )
    superfluous = _superfluous(ctx, state, {k: int(v) for k, v in body["purchases"]["seats"].items()})
    wrong = body.get("tenant") != state.row.name
    reason = ""
    try:
        _require_newer(state, body)
    except LisensError as error:
        wrong, reason = True, f"{error.code}: {error.message}"
    if body.get("tenant") != state.row.name:
        reason = f"the package is for tenant {body.get('tenant')!r}"
    elif wrong:
        pass
    elif superfluous:
        reason = "remove superfluous licenses first: " + ", ".join(f"{s['item']} ({s['remove']})" for s in superfluous)
    return ExtendedLicenseInfo.model_validate(
        {
            "Reason": reason,
            "CanBeActivated": not wrong and not superfluous,
            "New": new,
            "Current": current,
            "ExtendedModuleLicenses": extended,
            "AccumulatedNextCheckDate": None,
        }
    )


def validate_license_info(
    ctx: Context, tenant: str, extended: Mapping[str, Any], public_key: Ed25519PublicKey
) -> tuple[bool, str]:
    """ValidateLicenseInfo: can this license (from GetLicenseFromFile) be activated here?"""
    try:
        report = activate_package(ctx, tenant, _decode(extended), public_key, dry_run=True)
    except LisensError as error:
        return False, f"{error.code}: {error.message}"
    return True, f"valid; {len(report.changes.changed)} module licenses change"


def activate_license_info(
    ctx: Context, tenant: str, extended: Mapping[str, Any], public_key: Ed25519PublicKey
) -> tuple[bool, str]:
    """ActivateLicenseInfo: activate the license that GetLicenseFromFile returned."""
    activate_package(ctx, tenant, _decode(extended), public_key)
    return True, "activated"
