"""`lisens db|tenant|seats|addon|system|owner …`: the database and what tenants buy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json, table
from lisens.cli.runtime import ChangeAt, Json, change_at, runtime, show_scheduled

if TYPE_CHECKING:
    from lisens.service import tags as tag_service
    from lisens.service import tenants as service
    from lisens.service.results import TagsRead
else:
    service = lazy_module("lisens.service.tenants")
    tag_service = lazy_module("lisens.service.tags")


db_app = typer.Typer(help="The database: create or upgrade its schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants: create, list, show.", no_args_is_help=True)
seats_app = typer.Typer(help="Seats: how many of a plan or a user license a tenant has.", no_args_is_help=True)
addon_app = typer.Typer(help="Add-on subscriptions of a tenant.", no_args_is_help=True)
system_app = typer.Typer(help="System licenses a tenant buys on their own.", no_args_is_help=True)
owner_app = typer.Typer(help="Partner license owners of a tenant and their module licenses.", no_args_is_help=True)


def _show(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        print_json(data)
    else:
        console.print(text, markup=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create the schema on an empty database, or bring it up to date."""
    rt = runtime(ctx)
    from lisens.db.migrate import current_revision, ensure_database, upgrade  # only for the schema commands

    if ensure_database(rt.engine):
        console.print(f"created database {rt.engine.url.database}", markup=False)
    upgrade(rt.engine)
    console.print(f"database at revision {current_revision(rt.engine)}", markup=False)


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision of the database."""
    from lisens.db.migrate import current_revision

    console.print(current_revision(runtime(ctx).engine) or "empty (run `lisens db upgrade`)", markup=False)


@tenant_app.command("create")
def tenant_create(
    ctx: typer.Context,
    name: str,
    generation: Annotated[str, typer.Option("--generation", "-g", help="Packaging generation: 7, 9 or 11.")],
    company: Annotated[str, typer.Option(help="Company name.")] = "",
    serial: Annotated[str, typer.Option(help="Serial number.")] = "",
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Create a tenant on a packaging generation."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.create_tenant(
            uow, name=name, generation=generation, company=company, serial=serial, at=change_at(at)
        )
    _show(data, as_json, f"created tenant {name} (generation {data.generation})")


@tenant_app.command("list")
def tenant_list(ctx: typer.Context, as_json: Json = False) -> None:
    """List the tenants."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.list_tenants(uow)
    if as_json:
        print_json(data)
        return
    rows = [(t.name, t.generation, t.company, t.serial) for t in data]
    console.print(table(f"{len(rows)} tenants", ["name", "generation", "company", "serial"], rows))


@tenant_app.command("report")
def tenant_report(ctx: typer.Context, as_json: Json = False) -> None:
    """Tenants, seats and users per packaging generation."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.generation_report(uow)
    if as_json:
        print_json(data)
        return
    for generation, entry in data.root.items():
        console.print(
            f"generation {generation}: {len(entry.tenants)} tenants ({', '.join(entry.tenants)}), {entry.users} users",
            markup=False,
            soft_wrap=True,
        )
        console.print(table(None, ["plan or license", "seats"], sorted(entry.seats.items())))


@tenant_app.command("show")
def tenant_show(ctx: typer.Context, name: str, as_json: Json = False) -> None:
    """Show a tenant: generation, owners, seats, add-ons, system licenses."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.show_tenant(uow, name)
    if as_json:
        print_json(data)
        return
    console.print(
        f"{data.name}: generation {data.generation}, company {data.company or '-'}, "
        f"serial {data.serial or '-'}, {data.users} users, owners {', '.join(data.owners)}",
        markup=False,
    )
    console.print(table("Seats", ["plan or license", "total"], sorted(data.seats.items())))
    console.print(f"Add-ons: {', '.join(data.addons) or '-'}", markup=False)
    console.print(f"System licenses bought alone: {', '.join(data.system) or '-'}", markup=False)


@seats_app.command("set", context_settings={"ignore_unknown_options": True})
def seats_set(
    ctx: typer.Context,
    tenant: str,
    item: Annotated[
        str, typer.Argument(metavar="PLAN_OR_LICENSE", help="A plan key, a combined plan a+b, or a user license.")
    ],
    number: Annotated[int, typer.Argument(metavar="N")],
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Set the number of seats; refused below what is in use, naming the users who hold it."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.set_seats(uow, tenant, item, number, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    text = f"{data.item}: {data.in_use} in use / {data.total} total"
    if data.scheduled is not None:
        text += f"; lowering to {data.scheduled.number} scheduled for {data.scheduled.effective}"
    _show(data, as_json, text)


@addon_app.command("add")
def addon_add(ctx: typer.Context, tenant: str, addon: str, at: ChangeAt = None, as_json: Json = False) -> None:
    """Add an add-on subscription (it turns on its system licenses)."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.add_addon(uow, tenant, addon, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    _show(data, as_json, f"add-ons of {tenant}: {', '.join(data.addons)}" + ("" if data.changed else " (unchanged)"))


@addon_app.command("remove")
def addon_remove(ctx: typer.Context, tenant: str, addon: str, at: ChangeAt = None, as_json: Json = False) -> None:
    """Remove an add-on subscription."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.remove_addon(uow, tenant, addon, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    _show(data, as_json, f"add-ons of {tenant}: {', '.join(data.addons) or '-'}")


@system_app.command("add")
def system_add(
    ctx: typer.Context,
    tenant: str,
    license_name: Annotated[str, typer.Argument(metavar="LICENSE")],
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Turn on a system license for the whole tenant."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.add_system_license(uow, tenant, license_name, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    _show(data, as_json, f"{data.license} on" + ("" if data.changed else " (unchanged)"))


@system_app.command("remove")
def system_remove(
    ctx: typer.Context,
    tenant: str,
    license_name: Annotated[str, typer.Argument(metavar="LICENSE")],
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Turn off a system license bought on its own."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.remove_system_license(uow, tenant, license_name, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    _show(data, as_json, f"{data.license} off")


@owner_app.command("add")
def owner_add(
    ctx: typer.Context,
    tenant: str,
    owner: str,
    description: Annotated[str, typer.Option(help="Owner description.")] = "",
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Add a partner license owner (upper case A-Z, 0-9)."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.add_owner(uow, tenant, owner, description=description, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    _show(data, as_json, f"owner {data.owner} added to {tenant}")


@owner_app.command("license")
def owner_license(
    ctx: typer.Context,
    tenant: str,
    name: Annotated[str, typer.Argument(metavar="OWNER.MODULE")],
    license_type: Annotated[str, typer.Option("--type", help="system or user.")] = "user",
    unrestricted: Annotated[bool, typer.Option(help="Any number may be assigned.")] = False,
    description: Annotated[str, typer.Option(help="Description.")] = "",
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Define a module license of a partner owner for the tenant."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.add_partner_license(
            uow,
            tenant,
            name,
            license_type=license_type,
            unrestricted=unrestricted,
            description=description,
            at=change_at(at),
        )
    if show_scheduled(data, as_json):
        return
    _show(data, as_json, f"{data.license} ({data.type}) defined for {tenant}")


@seats_app.command("upgrade", context_settings={"ignore_unknown_options": True})
def seats_upgrade(
    ctx: typer.Context,
    tenant: str,
    from_plan: Annotated[str, typer.Argument(metavar="FROM_PLAN")],
    to_plan: Annotated[str, typer.Argument(metavar="TO_PLAN")],
    number: Annotated[int, typer.Argument(metavar="N")],
    user: Annotated[list[str] | None, typer.Option("--user", help="A user to switch to the new plan.")] = None,
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Move N seats from one plan to another at once (e.g. Essential to Premium), switching the users named."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.upgrade_seats(
            uow, tenant, from_plan=from_plan, to_plan=to_plan, number=number, users=user or [], at=change_at(at)
        )
    if show_scheduled(data, as_json):
        return
    switched = ", ".join(data.switched) or "nobody"
    _show(data, as_json, f"moved {data.moved} seats from {data.from_plan} to {data.to_plan}; switched {switched}")


tag_app = typer.Typer(help="Tags of a tenant: labels key=value to select tenants by.", no_args_is_help=True)
tenant_app.add_typer(tag_app, name="tag")


def _print_tags(data: TagsRead, as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    text = " ".join(f"{key}={value}" for key, value in data.tags.items()) or "no tags"
    console.print(f"{data.tenant}: {text}", markup=False, soft_wrap=True)


@tag_app.command("add")
def tag_add(
    ctx: typer.Context,
    tenant: str,
    tag: Annotated[str, typer.Argument(help="key=value; replaces the key's value")],
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Tag a tenant key=value (segment, country, partner, …)."""
    key, value = tag_service.parse_tag(tag)
    with runtime(ctx).unit_of_work() as uow:
        data = tag_service.set_tag(uow, tenant, key, value, at=change_at(at))
    _print_tags(data, as_json)


@tag_app.command("remove")
def tag_remove(
    ctx: typer.Context,
    tenant: str,
    key: Annotated[str, typer.Argument(help="The key (or key=value)")],
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Remove a tenant's tag."""
    with runtime(ctx).unit_of_work() as uow:
        data = tag_service.remove_tag(uow, tenant, key.partition("=")[0], at=change_at(at))
    _print_tags(data, as_json)


@tag_app.command("list")
def tag_list(ctx: typer.Context, tenant: str, as_json: Json = False) -> None:
    """A tenant's tags, by key."""
    with runtime(ctx).unit_of_work() as uow:
        data = tag_service.list_tags(uow, tenant)
    _print_tags(data, as_json)
