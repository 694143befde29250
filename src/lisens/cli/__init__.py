"""The `lisens` command line: every use case as a command, tables for people, --json for machines."""
