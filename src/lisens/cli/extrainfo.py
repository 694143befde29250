"""`lisens extrainfo …`: parse and format the `set=` lists of user-plan licenses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json
from lisens.domain.extrainfo import format_extra_info, parse_extra_info

app = typer.Typer(help="Parse and format ExtraInfo (set=a,b,c).", no_args_is_help=True)

Check = Annotated[
    str | None,
    typer.Option("--generation", "-g", help="Also require every name to be a module license of this generation."),
]

if TYPE_CHECKING:
    from lisens.catalog import loader
else:
    loader = lazy_module("lisens.catalog.loader")


@app.command("parse")
def parse(
    text: Annotated[str, typer.Argument(help="ExtraInfo text, e.g. set=user,web")],
    generation: Check = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Parse ExtraInfo into its list of module names."""
    known = loader.load_catalog(generation).licenses if generation else None
    names = parse_extra_info(text, known=known)
    if as_json:
        print_json(list(names))
    else:
        for name in names:
            console.print(name, markup=False)


@app.command("format")
def format_command(
    names: Annotated[list[str], typer.Argument(help="Module names, in order.")],
    generation: Check = None,
) -> None:
    """Format module names as ExtraInfo."""
    known = loader.load_catalog(generation).licenses if generation else None
    console.print(format_extra_info(names, known=known), markup=False, soft_wrap=True)
