"""A schema fuzzer (schemathesis) over every service's OpenAPI, against the running stack: no answer
is a 5xx and every answer matches the schema its OpenAPI document declares.

Employer routes are fuzzed with the demo employer's session and its own employer number in the path
(so the fuzz reaches past the scope check); the center's routes with the center's session. What would
change the shared stack for the other tests is kept away from real records: the session is not logged
out, the employer's password is not guessed at (that would lock the account), and the center's
operations on accounts, UKeys and tasks address records that do not exist.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy import demo_data as demo
from deploy.stack import Stack

from .helpers import center_api, employer_api

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
SERVICES = ["auth", "employer", "member", "payment", "workflow", "notify"]
EXAMPLES = 25
MAX_SECONDS = 15  # per service (the fuzzer spends all of it): six services in about 100 s
SEED = 20261128
NOWHERE = {"login_name": "fuzz-nobody", "ukey_id": 987654321, "task_id": 987654321}
CENTER_PATHS = r"^/(tasks|instances|auth/(operators|ukeys|audit))"


def fuzz_config(employer_token: str, center_token: str) -> str:
    nowhere = ", ".join(f'"path.{name}" = {value!r}'.replace("'", '"') for name, value in NOWHERE.items())
    return f"""
headers = {{ Authorization = "Bearer {employer_token}" }}
request-timeout = 10

[parameters]
"path.employer_no" = "{demo.EMPLOYER_NO}"

[[operations]]
include-path-regex = "{CENTER_PATHS}"
headers = {{ Authorization = "Bearer {center_token}" }}

[[operations]]
include-path-regex = "^/(auth/operators/|auth/ukeys/|tasks/[^/]+/complete)"
headers = {{ Authorization = "Bearer {center_token}" }}
parameters = {{ {nowhere} }}

[[operations]]
include-path = ["/auth/logout", "/auth/password"]
enabled = false
"""


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
    path.write_text(fuzz_config(employer_api(stack).headers["Authorization"][7:],
                                center_api(stack).headers["Authorization"][7:]))
    return path


@pytest.mark.parametrize("service", SERVICES)
def test_fuzzer_finds_no_server_error_and_no_schema_violation(
    stack: Stack, fuzz_config_file: Path, service: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = run_fuzz(stack.url(service), fuzz_config_file, tmp_path / "junit.xml")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert generated and int(generated[1]) >= 100 and generated[1] == generated[2], result.stdout[-3000:]
    assert time.monotonic() - started < MAX_SECONDS * 3
