"""Property-based tests of the whole API from its OpenAPI document: never a 5xx, every response as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lisens.api.app import create_app
from lisens.settings import Settings
from tests.api.conftest import Api

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = [
    (method.upper(), path)
    for path, operations in create_app(Settings(database_url="sqlite://")).openapi()["paths"].items()
    for method in operations
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_never_answers_5xx_and_always_as_documented(api: Api, method: str, path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operation = schema[path][method]
    # As the vendor: the token that reaches the most code; tenant admins and apps are refused earlier.
    headers = api.headers("vendor")

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
