"""Item 10: schemathesis over the app's OpenAPI schema, every operation, on a real server.

Each operation gets ``FUZZ_EXAMPLES`` generated cases (valid and invalid data, half of them with
real ids of the seeded world in the path), sent with a valid token. Checks: every check
schemathesis has (no server error; status code, content type, headers and body as documented;
invalid data refused, valid data accepted (422 allowed: see ``CONFIG``); ``Allow`` on 405;
authentication never ignored...), and no answer carries a database error. Then injection payloads
in sort, filter and search parameters: a 4xx or a correct (empty) result, never a database error.

CI runs 12 cases per operation and mode (~700 in all); the documented bench run (docs/reliability.md)
uses ``FUZZ_EXAMPLES=40`` (~2,300).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS as ALL_CHECKS
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from app.services import Services
from tests.approval_helpers import pending_approval
from tests.conftest import API, World, create_execution
from tests.servers import AppServer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
DB_ERROR = re.compile(
    r"sqlalchemy|asyncpg|aiosqlite|sqlite3|psycopg|Traceback|OperationalError|ProgrammingError|IntegrityError"
    r"|DataError|syntax error at|no such (column|table)|relation \"\w+\" does not exist|unterminated quoted",
    re.IGNORECASE,
)


@schemathesis.check
def no_database_error_leaks(ctx: Any, response: Any, case: Any) -> bool | None:
    """Error answers are our JSON ``{"message": ...}``; no driver, SQL or traceback text in any body."""
    sent = repr((case.body, case.query, case.path_parameters, case.headers)).lower()
    for match in DB_ERROR.finditer(response.text or ""):
        # A 422 may quote what was sent (an unknown field's name): only text we did not send leaks.
        if match.group(0).lower() not in sent:
            raise AssertionError(f"database error text in the response: {match.group(0)!r}")
    if response.status_code >= 400 and "message" not in (response.json() or {}):
        raise AssertionError("error response without a message")
    return None


# Every check schemathesis has (issue 20: "all checks"), plus ours.
CHECKS = [*ALL_CHECKS.get_all(), no_database_error_leaks]
# Schema-valid requests may still answer 422 where a rule spans fields, which OpenAPI 3 cannot state:
# one of workspace_uuid / organization_multiplai_id is required, date_from <= date_to, a rejection
# needs a comment, ids xor filter, a real calendar date (no 31 February), wrong credentials. Each of
# those 422s names its field (tests/test_bad_input.py); every other status stays as strict as the default.
CONFIG = SchemathesisConfig.from_str(
    """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 422, 429]
"""
)


@pytest.fixture
def server(database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    limits_off = {"API_RATE_LIMIT": "0", "SIGN_IN_LIMIT_PER_ACCOUNT": "0", "SIGN_IN_LIMIT_PER_ADDRESS": "0"}
    app_server = AppServer(database_url, None, tmp_path, **limits_off)
    app_server.start()
    yield app_server
    app_server.stop()


async def real_ids(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    execution = await create_execution(client, world.multi, world.workflows["Invoice sync"], status="running")
    _, approval = await pending_approval(client, world.multi, world.workflows["Invoice sync"])
    task = await client.post(
        f"{API}/command-room-tasks", json={"execution_uuid": execution["uuid"]}, headers=world.multi.headers
    )
    return {
        "execution_uuid": execution["uuid"],
        "approval_uuid": approval["uuid"],
        "task_uuid": task.json()["data"]["uuid"],
        "workspace_uuid": world.ws["B"],
        "workflow_uuid": world.workflows["Invoice sync"],
    }


def fuzz(
    server: AppServer, schema_dict: dict[str, Any], token: str, logout_tokens: list[str], ids: dict[str, str]
) -> tuple[int, list[str]]:
    """Run every operation; returns (cases sent, failures). Runs in a thread (requests is blocking)."""
    schema = schemathesis.openapi.from_dict(schema_dict, config=CONFIG)
    cases = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        logout = operation.path.endswith("/auth/logout")
        path_ids = {k: v for k, v in ids.items() if f"{{{k}}}" in operation.path}
        variants = [({}, mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if path_ids:
            variants.append((path_ids, GenerationMode.POSITIVE))
        for fixed, mode in variants:
            strategy = operation.as_strategy(
                generation_mode=mode,
                headers={"Authorization": f"Bearer {token}"},
                path_parameters=fixed or None,
            )

            try:
                cases += run_cases(server, strategy, logout_tokens if logout else None)
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing to make invalid: no parameter, no body
            except (Exception, BaseExceptionGroup) as exc:  # one failing operation must not hide the others
                failures.append(f"{operation.label} [{mode.value}{' real ids' if fixed else ''}]: {exc}"[:1500])
    return cases, failures


def run_cases(server: AppServer, strategy: Any, fresh_tokens: list[str] | None) -> int:
    """Send ``EXAMPLES`` cases drawn from ``strategy`` and validate each; returns how many were sent."""
    sent = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        nonlocal sent
        if fresh_tokens is not None:  # logging out revokes the token used: give each case its own
            case.headers["Authorization"] = f"Bearer {fresh_tokens.pop()}"
        sent += 1
        case.call_and_validate(base_url=server.base_url, checks=CHECKS, timeout=30)

    run()
    return sent


INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE workflow_executions; --",
    '" OR 1=1 --',
    "created_at; SELECT pg_sleep(1)",
    "%' UNION SELECT token_hash FROM api_tokens --",
    "\\' OR 1=1 #",
    "$(id)",
    "{{7*7}}",
    "../../etc/passwd",
    "%00",
    "\x00",
    "' AND 1=CAST((SELECT version()) AS int) --",
    "🙂" * 50,
    "a" * 5000,
]
INJECTED_PARAMS = {
    f"{API}/workflow-executions": [
        "sort_by",
        "sort_direction",
        "status",
        "search",
        "workflow_uuid",
        "date_from",
        "with",
        "per_page",
        "organization_multiplai_id",
        "user_multiplai_id",
    ],
    f"{API}/workflow-executions/count": [
        "start_date",
        "end_date",
        "multiplai_id",
        "requires_human_review",
        "has_command_room_task",
    ],
    f"{API}/workflow-approvals": [
        "sort_by",
        "status",
        "search",
        "assigned",
        "decided_by",
        "overdue",
        "organization_multiplai_id",
    ],
    f"{API}/workflows": ["search", "page", "workspace_uuid"],
}


async def injection_probes(server: AppServer, world: World) -> tuple[int, list[str]]:
    failures = []
    sent = 0
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.multi.headers, timeout=30) as client:
        for path, names in INJECTED_PARAMS.items():
            base = {"start_date": "2000-01-01", "end_date": "2999-12-31"} if path.endswith("/count") else {}
            base |= {"workspace_uuid": world.ws["B"]} if "workflow-executions" in path else {}
            for name in names:
                for payload in INJECTIONS:
                    response = await client.get(path, params=base | {name: payload})
                    sent += 1
                    where = f"GET {path} {name}={payload[:40]!r}: {response.status_code}"
                    # Error messages may quote the value sent back; look for database text beyond it.
                    body = response.text.replace(json.dumps(payload)[1:-1], "")
                    if response.status_code >= 500 or DB_ERROR.search(body):
                        failures.append(f"{where} {response.text[:200]}")
                    elif response.status_code == 200 and name in ("search",) and response.json()["data"]:
                        failures.append(f"{where}: an injected search matched rows")
                    elif response.status_code not in (200, 404, 422):
                        failures.append(where)
    return sent, failures


async def test_schemathesis_all_operations_and_injections(
    app: Any, client: httpx.AsyncClient, server: AppServer, world: World, services: Services
) -> None:
    ids = await real_ids(client, world)
    logout_tokens = [
        await services.accounts.create_token(world.viewer_a.user_id, name="fuzz-logout")
        for _ in range(EXAMPLES * 3 + 5)
    ]
    schema = app.openapi_schema.to_schema()
    cases, failures = await asyncio.to_thread(fuzz, server, schema, world.multi.token, logout_tokens, ids)
    operations = sum(1 for path, ops in schema["paths"].items() for _ in ops)
    injected, injection_failures = await injection_probes(server, world)
    print(
        f"\nschemathesis: {operations} operations, {cases} cases, {len(failures)} failing; "
        f"injections: {injected} requests, {len(injection_failures)} failing"
    )
    assert not injection_failures, "\n".join(injection_failures)
    assert not failures, "\n\n".join(failures)
    assert cases >= operations * EXAMPLES


MALFORMED_JSON = {
    "raw bytes \\xff\\xfe in a string": (b'{"email": "a\xff\xfe@example.test", "password": "x"}', "not valid UTF-8"),
    "an encoded surrogate in a string": (b'{"email": "a\xed\xa0\x80@example.test", "password": "x"}', "UTF-8"),
    "an object nested 5,000 deep": (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
    "an array nested 5,000 deep": (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    "a lone surrogate ending a string": (b'{"email": "\\ud800", "password": "x"}', "lone UTF-16 surrogate"),
    "a lone low surrogate": (b'{"email": "\\udc00x", "password": "x"}', "surrogate"),
}


@pytest.mark.parametrize("case", list(MALFORMED_JSON))
async def test_malformed_json_bodies_are_400_with_a_clear_message(
    client: httpx.AsyncClient, world: World, case: str
) -> None:
    """Issue 21 item 6: bodies msgspec cannot read are the client's fault (400), on a public and an
    authenticated endpoint; the message says what is wrong."""
    body, says = MALFORMED_JSON[case]
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    for path, method, headers in (
        (f"{API}/auth/sign-in", "POST", {}),
        (f"{API}/workflow-executions/{execution['uuid']}", "PATCH", world.operator_a.headers),
    ):
        response = await client.request(
            method, path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert says in response.json()["message"], response.text
        assert "truncated" not in response.json()["message"]
