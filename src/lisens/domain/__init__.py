"""The pure domain: license names, the ExtraInfo codec, catalog values and the plan engine (stdlib only)."""
