"""`lisens keys|package|snapshot …`: signing keys, signed license packages, offline snapshots."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, err_console, print_json, table
from lisens.cli.runtime import At, ChangeAt, Json, at_option, change_at, runtime
from lisens.domain.errors import Code, Conflict, InvalidInput

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from lisens import offline, packages, signing
    from lisens.service import packages as service
    from lisens.service.results import PackageChangesRead
    from lisens.settings import Settings
else:
    offline = lazy_module("lisens.offline")
    packages = lazy_module("lisens.packages")
    signing = lazy_module("lisens.signing")
    service = lazy_module("lisens.service.packages")


keys_app = typer.Typer(help="The vendor's Ed25519 signing keys.", no_args_is_help=True)
package_app = typer.Typer(help="Signed license packages: issue, verify offline, activate.", no_args_is_help=True)
snapshot_app = typer.Typer(
    help="Signed, time-limited snapshots for offline checks on app servers.", no_args_is_help=True
)

KeyOption = Annotated[Path | None, typer.Option("--key", help="Private key (default: LISENS_SIGNING_KEY).")]
PublicKeyOption = Annotated[
    Path | None, typer.Option("--public-key", help="Public key (default: LISENS_PUBLIC_KEY, or the signing key's).")
]


def _private(settings: Settings, path: Path | None) -> Ed25519PrivateKey:
    chosen = path or settings.signing_key
    if chosen is None:
        raise InvalidInput("no signing key: pass --key or set LISENS_SIGNING_KEY", code=Code.NO_SIGNING_KEY)
    return signing.load_private_key(chosen)


def public_key_for(settings: Settings, path: Path | None) -> Ed25519PublicKey:
    if path is not None:
        return _public_from(path)
    if settings.public_key is not None:
        return _public_from(settings.public_key)
    if settings.signing_key is not None:
        return signing.load_private_key(settings.signing_key).public_key()
    raise InvalidInput("no public key: pass --public-key or set LISENS_PUBLIC_KEY", code=Code.NO_PUBLIC_KEY)


def _public_from(path: Path) -> Ed25519PublicKey:
    """A public key file, or the public half of a private key file."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"no key at {path}", code=Code.INVALID_KEY) from None
    if b"PRIVATE KEY" in text:
        return signing.load_private_key(path).public_key()
    return signing.load_public_key(text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", code=Code.INVALID_FILE) from None


def parse_ttl(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match:
        raise InvalidInput(f"TTL {text!r} must be a number with s, m, h or d (e.g. 1h)", code=Code.INVALID_TTL)
    number, unit = int(match.group(1)), match.group(2) or "s"
    return timedelta(seconds=number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


@keys_app.command("generate")
def keys_generate(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write NAME.key and NAME.pub.")] = Path("."),
    name: Annotated[str, typer.Option(help="File name stem.")] = "lisens",
) -> None:
    """Create an Ed25519 key pair: the private key file gets mode 0600 and is never printed."""
    private_path, public_path = signing.generate_keys(directory, name=name)
    key = signing.load_public_key(public_path.read_bytes())
    console.print(f"private key {private_path} (mode 0600; keep it secret)", markup=False)
    console.print(f"public key  {public_path} (key id {signing.key_id(key)}; pin it in app servers)", markup=False)


@keys_app.command("public")
def keys_public(key: Annotated[Path, typer.Argument(help="A private or public key file.")]) -> None:
    """Print the public key (PEM) of a key file, to export and pin."""
    typer.echo(signing.public_pem(_public_from(key)).decode().strip())


@package_app.command("issue")
def package_issue(
    ctx: typer.Context,
    tenant: str,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON package here (default: stdout).")] = None,
    xml: Annotated[Path | None, typer.Option("--xml", help="Also write the XML rendering here.")] = None,
    key: KeyOption = None,
    lower_now: Annotated[
        bool,
        typer.Option(
            "--lower-now", help="Lower numbers apply at activation, not at the end of the term (with a subscription)."
        ),
    ] = False,
    at: ChangeAt = None,
) -> None:
    """Issue a signed license package of the tenant (LicenseInfo, module licenses, dates), numbered one
    above the last: activation refuses a package at or below the active one (PACKAGE_SUPERSEDED)."""
    rt = runtime(ctx)
    private = _private(rt.settings, key)
    with rt.unit_of_work() as uow:
        package = service.issue_package(uow, tenant, private, at=change_at(at), lower_now=lower_now)
    text = json.dumps(package, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(
            f"{out}: package of {tenant}, {len(package['license']['ModuleLicenses'])} module licenses, "
            f"valid until {package['not_after']}, key {package['signature']['key_id']}",
            markup=False,
        )
    if xml is not None:
        xml.write_text(packages.package_xml(package), encoding="utf-8")


@package_app.command("verify")
def package_verify(
    ctx: typer.Context,
    file: Path,
    public_key: PublicKeyOption = None,
    at: At = None,
    as_json: Json = False,
) -> None:
    """Verify a package offline (no database, no network); exit 1 with the reason when it fails."""
    body = packages.verify_package(
        packages.parse_package(_read(file)), public_key_for(runtime(ctx).settings, public_key), at=at_option(ctx, at)
    )
    summary = {
        "valid": True,
        "tenant": body["tenant"],
        "generation": body["generation"],
        "issued_at": body["issued_at"],
        "not_after": body["not_after"],
        "module_licenses": len(body["license"]["ModuleLicenses"]),
    }
    if as_json:
        print_json(summary)
    else:
        console.print(
            f"{file}: valid package of {summary['tenant']} (generation {summary['generation']}), "
            f"{summary['module_licenses']} module licenses, valid until {summary['not_after']}",
            markup=False,
        )


@package_app.command("activate")
def package_activate(
    ctx: typer.Context,
    tenant: str,
    file: Path,
    public_key: PublicKeyOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would change.")] = False,
    as_json: Json = False,
) -> None:
    """Verify a package and replace the tenant's licenses with it, all or nothing."""
    rt = runtime(ctx)
    document = packages.parse_package(_read(file))
    key = public_key_for(rt.settings, public_key)
    try:
        with rt.unit_of_work() as uow:
            report = service.activate_package(uow, tenant, document, key, dry_run=dry_run)
    except Conflict as error:
        if not as_json and error.details.get("superfluous"):
            _print_superfluous(error.details["superfluous"])
        raise
    if as_json:
        print_json(report)
        return
    _print_changes(report.changes)
    console.print("activated" if report.activated else "dry run: nothing changed", markup=False)


def _print_changes(changes: PackageChangesRead) -> None:
    rows = [("added", name, "") for name in changes.added]
    rows += [("removed", name, "") for name in changes.removed]
    rows += [("changed", name, f"{c.from_number} -> {c.to_number}") for name, c in changes.changed.items()]
    console.print(
        table("Changes", ["change", "module license", "number"], rows) if rows else "no changes to module licenses"
    )


def _print_superfluous(found: list[dict[str, Any]]) -> None:
    rows = [(s["item"], s["in_use"], s["new_total"], s["remove"], ", ".join(s["holders"])) for s in found]
    err_console.print(
        table("Remove superfluous licenses", ["license", "in use", "new total", "remove", "held by"], rows)
    )


@snapshot_app.command("issue")
def snapshot_issue(
    ctx: typer.Context,
    tenant: str,
    ttl: Annotated[str, typer.Option("--ttl", help="How long it is valid: 30m, 1h, 1d (at most 31d).")] = "1h",
    out: Annotated[Path | None, typer.Option("--out", help="Write it here (default: stdout).")] = None,
    key: KeyOption = None,
    at: At = None,
) -> None:
    """A signed snapshot of who holds which module licenses, for `lisens.offline` on app servers."""
    rt = runtime(ctx)
    private = _private(rt.settings, key)
    with rt.unit_of_work() as uow:
        snapshot = service.issue_snapshot(uow, tenant, private, at=at_option(ctx, at), ttl=parse_ttl(ttl))
    text = json.dumps(snapshot, ensure_ascii=False, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"{out}: {len(snapshot['users'])} users, expires {snapshot['expires_at']}", markup=False)


@snapshot_app.command("check")
def snapshot_check(
    ctx: typer.Context,
    file: Path,
    user: str,
    license_name: Annotated[str, typer.Argument(metavar="LICENSE")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant the snapshot must be of.")],
    public_key: PublicKeyOption = None,
) -> None:
    """Check a license against a snapshot offline, as an app server would; exit 1 when not held."""
    key = public_key_for(runtime(ctx).settings, public_key)
    licenses = offline.OfflineLicenses.load(
        file, signing.public_pem(key), tenant=tenant, now=runtime(ctx).clock().timestamp()
    )
    held = licenses.has_license(user, license_name)
    console.print(f"{user} {'holds' if held else 'does not hold'} {license_name}", markup=False)
    if not held:
        raise typer.Exit(1)
