"""schemathesis generates requests for every operation of the OpenAPI document, valid and not:
the API never answers one of them with a server error."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.openapi import from_url

from tests.integration.api.conftest import Stack, sign_up


def test_no_request_causes_a_server_error(stack: Stack) -> None:
    fuzzer = sign_up(stack)
    schema = from_url(f"{stack.url}/openapi.json")
    headers = {"Authorization": f"Bearer {fuzzer.token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation of the document must load
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def call(case: Any) -> None:
            response = case.call(headers=headers, base_url=stack.url)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        call()
    fuzzer.http.close()
    assert operations >= 15
    assert failures == []
    report = stack.ledger().audit()  # whatever the fuzzer placed, the ledger stays whole
    assert report.ok, report.problems
