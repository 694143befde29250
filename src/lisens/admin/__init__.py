"""The license panel: a server-rendered web admin (Jinja2 + htmx) over the same services as the API."""
