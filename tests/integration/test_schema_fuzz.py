"""A schema fuzzer (schemathesis) over every service's OpenAPI, against the running stack: no answer
is a 5xx and every answer matches the schema its OpenAPI document declares.

Employer routes are fuzzed with the demo employer's session and its own employer number in the path
(so the fuzz reaches past the scope check); the center's routes (accounts, UKeys, groups, tasks,
instances, definitions, pushes, dead letters, audit records, the employer directory) with a session
that holds the center's rights (``center_token``), and the routes for service tokens only (到账登记, the
member lookup) with a service token of their permission, so the fuzz reaches their handlers, not only
their 403. What would change the shared stack for the other tests is kept away from real records: the
session is not logged out, the employer's password is not guessed at (that would lock the account),
the center's operations on accounts, UKeys, groups, tasks, instances, deployments and dead letters
address records that do not exist, and no push goes to every employer (fuzz_hooks.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy import demo_data as demo
from deploy.stack import Stack
from hall_common.access import OPENAPI_KEY

from ..reliability import Recorder
from .helpers import Api, center_api, employer_api, service_token

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
SERVICES = ["auth", "employer", "member", "payment", "workflow", "notify"]
EXAMPLES = 25
MAX_SECONDS = 15  # per service (the fuzzer spends all of it): six services in about 100 s
SEED = 20261128
NOWHERE = {"login_name": "fuzz-nobody", "ukey_id": 987654321, "task_id": 987654321, "instance_id": 987654321,
           "code": "fuzz-nobody", "dead_letter_id": 987654321, "process_key": "fuzz-nobody"}
CENTER_PATHS = (r"^/(tasks|instances|definitions|pushes|groups|center-accounts|dead-letters|audit-records"
                r"|employers$|auth/(operators|ukeys))")
# The center's writes to one record: on records that do not exist (validating a definition changes nothing).
NOWHERE_PATHS = (r"^/(auth/operators/|auth/ukeys/|tasks/[^/]+/|instances/[^/]+/(end|terminate)|groups/"
                 r"|dead-letters/|definitions/[^/]+/deploy)")
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
CENTER_READS = [("workflow", "/definitions"), ("workflow", "/tasks"), ("workflow", "/instances"),
                ("workflow", "/audit-records"), ("notify", "/pushes"), ("auth", "/groups"),
                ("auth", "/center-accounts"), ("auth", "/auth/operators"), ("auth", "/auth/ukeys"),
                ("employer", "/employers")] + [(service, "/dead-letters") for service in SERVICES]


def fuzz_config(employer_token: str, center_token: str, service_tokens: dict[str, str] | None = None) -> str:
    """``service_tokens``: the operations only a service token may call (path template -> that token)."""
    nowhere = ", ".join(f'"path.{name}" = {value!r}'.replace("'", '"') for name, value in NOWHERE.items())
    services = "".join(f"""
[[operations]]
include-path = ["{path}"]
headers = {{ Authorization = "Bearer {token}" }}
""" for path, token in (service_tokens or {}).items())
    return f"""
headers = {{ Authorization = "Bearer {employer_token}" }}
request-timeout = 10
hooks = "{HOOKS}"

[parameters]
"path.employer_no" = "{demo.EMPLOYER_NO}"

[[operations]]
include-path-regex = "{CENTER_PATHS}"
headers = {{ Authorization = "Bearer {center_token}" }}

[[operations]]
include-path-regex = "{NOWHERE_PATHS}"
headers = {{ Authorization = "Bearer {center_token}" }}
parameters = {{ {nowhere} }}

[[operations]]
include-path = ["/auth/logout", "/auth/password"]
enabled = false
""" + services


def run_fuzz(base_url: str, config: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCHEMATHESIS), "--no-color", "--config-file", str(config), "run", f"{base_url}/openapi.json",
         "--checks", "not_a_server_error,response_schema_conformance",
         "--phases", "examples,coverage,fuzzing", "-n", str(EXAMPLES), "--max-time", str(MAX_SECONDS),
         "--generation-database", "none", "--seed", str(SEED), "--workers", "1",
         "--report", "junit", "--report-junit-path", str(report)],
        capture_output=True, text=True, timeout=MAX_SECONDS * 4, check=False,
        cwd=report.parent,  # it keeps a .schemathesis/ cache in its working directory: not in the repository
    )


@pytest.fixture(scope="module")
def fuzz_config_file(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "schemathesis.toml"
    path.write_text(fuzz_config(employer_api(stack).headers["Authorization"][7:], center_token(stack),
                                service_only_tokens(stack)))
    return path


def service_only_tokens(stack: Stack) -> dict[str, str]:
    """The operations every service declares for service tokens only (``x-access``: service words
    alone), each with a token of the permission it names, issued by the documented command: the fuzz
    reaches their handlers, not their 403. Read from the running services' documents, so a new one is
    fuzzed with its token without a change here."""
    tokens: dict[str, str] = {}
    by_permission: dict[str, str] = {}
    for service in SERVICES:
        document = httpx.get(stack.url(service) + "/openapi.json", timeout=10).json()
        for path, operations in document["paths"].items():
            for operation in operations.values():
                words = operation.get(OPENAPI_KEY, []) if isinstance(operation, dict) else []
                if words and all(word.startswith("service:") for word in words):
                    permission = words[0].split(":", 1)[1]
                    if permission not in by_permission:
                        by_permission[permission] = service_token(stack, permission, f"fuzz-{permission}")
                    tokens[path] = by_permission[permission]
    assert len(tokens) >= 2, tokens  # 到账登记 and the member lookup at least: the walk saw the documents
    return tokens



def center_token(stack: Stack) -> str:
    """A center session holding every center right (the demo's center01): the one place to change when
    the rights an account holds change. Checked to open each fuzzed family of center routes, so a token
    short of a right cannot leave the fuzz at the 403 of that family unnoticed."""
    center = center_api(stack)
    for service, path in CENTER_READS:
        answer = center.call("GET", service, path)
        assert answer.status_code == 200, f"the center token cannot read {service} {path}: {answer.text[:300]}"
    return str(center.headers["Authorization"][7:])


@pytest.mark.parametrize("service", SERVICES)
def test_fuzzer_finds_no_server_error_and_no_schema_violation(
    stack: Stack, fuzz_config_file: Path, service: str, tmp_path: Path, reliability_report: Recorder
) -> None:
    """Schemathesis over one service's OpenAPI (examples, coverage and fuzzing phases, a fixed seed),
    employer routes with the demo employer's token, center routes with a center token holding every
    right, service-only routes with a service token of their permission: no 5xx, no answer outside its
    declared schema."""
    center = center_api(stack)
    newest = _pushes_after(center, 0)[:1]
    result = run_fuzz(stack.url(service), fuzz_config_file, tmp_path / "junit.xml")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert generated and int(generated[1]) >= 100 and generated[1] == generated[2], result.stdout[-3000:]
    # The run passed both checks on every generated call: none was a 5xx or outside its schema.
    reliability_report.figures(requests=int(generated[1]), server_errors=0, schema_violations=0)
    fuzzed = _pushes_after(center, newest[0]["id"] if newest else 0)
    assert not [p for p in fuzzed if p["target"] == "all"], "the fuzz pushed to every employer"


def _pushes_after(center: Api, push_id: int) -> list[dict[str, Any]]:
    """The pushes newer than ``push_id``, newest first."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        items = center.get("notify", "/pushes", page=page, per_page=100)["items"]
        newer = [item for item in items if item["id"] > push_id]
        found += newer
        if len(newer) < len(items) or len(items) < 100:
            return found
        page += 1
