"""The HTTP API: the FastAPI app factory, the own /v1 API and SuperOffice-compatible License routes."""
