"""`python -m lisens.cli`: the same as the `lisens` command."""

from lisens.cli.main import main

main()
