"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``, pinned) against the real
``veeam-em-mcp serve --demo --transport http``.

Three runs: 0.1.16, the released suite, with every scenario (``--suite all``: 2025-06-18 and
2025-11-25 over the initialize handshake); and 0.2.0-alpha.12 with exactly what the 2025-11-25 and
the 2026-07-28 revisions require (``--requirements``). Each run's outcome is asserted exactly:

- the scenarios that apply to this server pass, check by check;
- the scenarios written against the suite's own fixture server (tools such as ``test_image_content``,
  prompts such as ``test_simple_prompt``, resources such as ``test://static-text``, server-to-client
  requests, the tasks extension) are listed as not applicable with the reason; they fail here, except
  the few the suite counts as passed only because this server answers an unknown tool with an
  ``isError`` result;
- in every scenario, the 0.2 suite's ``wire-schema-valid`` check (every message this server sent is
  valid against the specification's schema) passes;
- the warnings are the expected ones.

The suite and a Node it runs on (>= 22) are installed by ``.ci/conformance.sh`` into ``.ci/``. The
server runs with ``--no-auth`` on loopback: the suite sends no Authorization header.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .http_server import demo_http_server

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / ".ci" / "conformance.sh"

# Why each not-applicable scenario does not test this server.
NOT_APPLICABLE: dict[str, str] = {
    "tools-call-simple-text": "needs the fixture tool test_simple_text; passes only because an unknown tool is an isError text",
    "tools-call-error": "needs the fixture tool test_error_handling; passes only because an unknown tool is an isError text",
    "tools-call-image": "needs the fixture tool test_image_content (this server returns JSON, never images)",
    "tools-call-audio": "needs the fixture tool test_audio_content (this server returns JSON, never audio)",
    "tools-call-embedded-resource": "needs the fixture tool test_embedded_resource",
    "tools-call-mixed-content": "needs the fixture tool test_multiple_content_types",
    "tools-call-with-logging": "needs the fixture tool test_tool_with_logging (logging itself: logging-set-level, "
    "tests/test_protocol.py)",
    "tools-call-with-progress": "needs the fixture tool test_tool_with_progress (vm_recovery_summary reports progress)",
    "tools-call-sampling": "needs a fixture tool that asks the client to sample; this server never asks the client",
    "tools-call-elicitation": "needs a fixture tool that elicits; this server never asks the client",
    "elicitation-sep1034-defaults": "needs a fixture tool that elicits; this server never asks the client",
    "elicitation-sep1330-enums": "needs a fixture tool that elicits; this server never asks the client",
    "json-schema-2020-12": "needs the fixture tool json_schema_2020_12_tool",
    "server-sse-polling": "needs the fixture tool test_reconnection, which closes its stream mid-call",
    "resources-read-text": "needs the fixture resource test://static-text",
    "resources-read-binary": "needs the fixture resource test://static-binary",
    "resources-templates-read": "needs the fixture template test://template/{id}/data",
    "prompts-get-simple": "needs the fixture prompt test_simple_prompt",
    "prompts-get-with-args": "needs the fixture prompt test_prompt_with_arguments",
    "prompts-get-embedded-resource": "needs the fixture prompt test_prompt_with_embedded_resource",
    "prompts-get-with-image": "needs the fixture prompt test_prompt_with_image",
    "completion-complete": "completes the fixture prompt test_prompt_with_arguments, which is unknown here: -32602 "
    "as the specification says (it passed before only because an unknown prompt got an empty completion)",
    "http-custom-header-server-validation": "needs a tool with x-mcp-header arguments; this server has none",
    "input-required-result-basic-elicitation": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-basic-sampling": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-basic-list-roots": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-request-state": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-multiple-input-requests": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-multi-round": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-missing-input-response": "needs a fixture tool answering InputRequiredResult; passes "
    "(with a warning) only because an unknown tool is an isError text",
    "input-required-result-non-tool-request": "needs the fixture prompt test_input_required_result_prompt",
    "input-required-result-result-type": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-tampered-state": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-capability-check": "needs a fixture tool answering InputRequiredResult",
    "input-required-result-ignore-extra-params": "needs a fixture tool answering InputRequiredResult; passes only "
    "because an unknown tool is an isError text",
    "input-required-result-validate-input": "needs a fixture tool answering InputRequiredResult; passes (with a "
    "warning) only because an unknown tool is an isError text",
    "tasks-lifecycle": "the tasks extension (not scored): this server runs no tasks",
    "tasks-capability-negotiation": "the tasks extension (not scored): this server runs no tasks",
    "tasks-wire-fields": "the tasks extension (not scored): this server runs no tasks",
    "tasks-request-state-removal": "the tasks extension (not scored): this server runs no tasks",
    "tasks-mrtr-input": "the tasks extension (not scored): this server runs no tasks",
    "tasks-request-headers": "the tasks extension (not scored): this server runs no tasks",
    "tasks-dispatch-and-envelope": "the tasks extension (not scored): this server runs no tasks",
    "tasks-status-notifications": "the tasks extension (not scored): skipped by the suite itself",
    "tasks-required-task-error": "the tasks extension (not scored): this server runs no tasks",
    "tasks-mrtr-composition": "the tasks extension (not scored): this server runs no tasks",
}
# Not-applicable scenarios that the suite nevertheless reports as passed (see their reasons).
PASS_WITHOUT_TESTING = frozenset(
    {
        "tools-call-simple-text",
        "tools-call-error",
        "input-required-result-ignore-extra-params",
        "input-required-result-missing-input-response",
        "input-required-result-validate-input",
        "tasks-status-notifications",
    }
)
# The SSE warnings (no priming event, no retry field on POST streams) are gone from the 0.2 suite since
# the HTTP transport keeps a bounded event store (surface/http/events.py). 0.1.16 still reports both inside
# server-sse-polling, a scenario that calls the suite's own fixture tool (test_reconnection), which this
# server does not have: the call is answered at once as an unknown tool, with no stream to resume.
SSE_WARNINGS_0_1 = {"server-sse-polling": frozenset({"server-sse-priming-event", "server-sse-retry-field"})}
SSE_WARNINGS: dict[str, frozenset[str]] = {}

HANDSHAKE_ERA_SCENARIOS = (
    "server-initialize",
    "logging-set-level",
    "ping",
    "tools-list",
    "server-sse-multiple-streams",
    "resources-list",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "dns-rebinding-protection",
)
HANDSHAKE_ERA_NOT_APPLICABLE = (
    "tools-call-simple-text",
    "tools-call-error",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "elicitation-sep1034-defaults",
    "elicitation-sep1330-enums",
    "json-schema-2020-12",
    "server-sse-polling",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "completion-complete",
)


@dataclass(frozen=True)
class SuiteRun:
    version: str
    arguments: tuple[str, ...]
    applicable: tuple[str, ...]
    not_applicable: tuple[str, ...]
    # Checks of an applicable scenario that need a fixture tool: they fail, the rest must pass.
    fixture_checks: dict[str, frozenset[str]] = field(default_factory=dict)
    warnings: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.version} {' '.join(self.arguments)}"


RUNS = [
    SuiteRun(
        "0.1.16",
        ("--suite", "all"),
        applicable=HANDSHAKE_ERA_SCENARIOS,
        not_applicable=HANDSHAKE_ERA_NOT_APPLICABLE,
        warnings=SSE_WARNINGS_0_1,
    ),
    SuiteRun(
        "0.2.0-alpha.12",
        ("--requirements", "2025-11-25"),
        applicable=(*HANDSHAKE_ERA_SCENARIOS, "server-session-lifecycle"),
        not_applicable=HANDSHAKE_ERA_NOT_APPLICABLE,
        warnings=SSE_WARNINGS,
    ),
    SuiteRun(
        "0.2.0-alpha.12",
        ("--requirements", "2026-07-28"),
        applicable=(
            "server-stateless",
            "tools-list",
            "server-sse-multiple-streams",
            "resources-list",
            "sep-2164-resource-not-found",
            "prompts-list",
            "dns-rebinding-protection",
            "caching",
            "http-header-validation",
            "input-required-result-unsupported-methods",
        ),
        not_applicable=(
            "completion-complete",
            "tools-call-simple-text",
            "tools-call-image",
            "tools-call-audio",
            "tools-call-embedded-resource",
            "tools-call-mixed-content",
            "tools-call-error",
            "tools-call-with-progress",
            "json-schema-2020-12",
            "resources-read-text",
            "resources-read-binary",
            "resources-templates-read",
            "prompts-get-simple",
            "prompts-get-with-args",
            "prompts-get-embedded-resource",
            "prompts-get-with-image",
            "http-custom-header-server-validation",
            *(name for name in NOT_APPLICABLE if name.startswith(("input-required-result-", "tasks-"))),
        ),
        fixture_checks={
            # Both call the fixture tool test_missing_capability (-32021 when sampling is undeclared).
            "server-stateless": frozenset(
                {"sep-2575-server-rejects-undeclared-capability", "sep-2575-missing-capability-http-400"}
            ),
        },
        warnings={
            "input-required-result-missing-input-response": frozenset({"sep-2322-missing-response-rerequests"}),
            "input-required-result-validate-input": frozenset({"sep-2322-error-on-protocol-error"}),
        },
    ),
]


@dataclass
class Scenario:
    failures: dict[str, str]  # check id -> message
    warnings: set[str]
    wire_schema_ok: bool


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def suites() -> dict[str, list[str]]:
    """version -> the command that runs that suite (node + entry script)."""
    if shutil.which("npm") is None and not _in_ci():
        pytest.skip("npm is not installed: cannot install @modelcontextprotocol/conformance")
    commands: dict[str, list[str]] = {}
    for version in sorted({run.version for run in RUNS}):
        result = subprocess.run(
            ["bash", str(INSTALLER), version], capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode == 0, (
            f".ci/conformance.sh {version} failed ({result.returncode}):\n{result.stderr[-2000:]}"
        )
        node, entry = result.stdout.strip().splitlines()[-2:]
        commands[version] = [node, entry]
    return commands


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    with demo_http_server({**env, "VEEAM_MCP_LOG_LEVEL": "WARNING"}, "--no-auth") as base:
        yield f"{base}/mcp"


def run_suite(command: list[str], run: SuiteRun, url: str, out: Path) -> dict[str, Scenario]:
    result = subprocess.run(
        [*command, "server", "--url", url, *run.arguments, "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    # Exit 1 is "some scenario failed": expected here, the outcome is judged scenario by scenario.
    assert result.returncode in (0, 1), f"the suite crashed ({result.returncode}):\n{result.stderr[-3000:]}"
    scenarios: dict[str, Scenario] = {}
    for directory in sorted(out.glob("server-*")):
        name = re.sub(r"-\d{4}-\d{2}-\d{2}T[\dZ-]+$", "", directory.name.removeprefix("server-"))
        checks = json.loads((directory / "checks.json").read_text(encoding="utf-8"))
        scenarios[name] = Scenario(
            failures={
                check["id"]: str(check.get("errorMessage", "")) for check in checks if check["status"] == "FAILURE"
            },
            warnings={check["id"] for check in checks if check["status"] == "WARNING"},
            wire_schema_ok=all(check["status"] != "FAILURE" for check in checks if check["id"] == "wire-schema-valid"),
        )
    assert scenarios, f"the suite wrote no results:\n{result.stdout[-3000:]}"
    return scenarios


def table(scenarios: dict[str, Scenario]) -> str:
    return "\n".join(
        f"  {name}: {'PASS' if not s.failures else 'FAIL ' + '; '.join(f'{k}: {v[:120]}' for k, v in s.failures.items())}"
        for name, s in sorted(scenarios.items())
    )


def test_every_not_applicable_scenario_has_a_reason() -> None:
    for run in RUNS:
        assert not set(run.applicable) & set(run.not_applicable), run.label
        assert set(run.not_applicable) <= set(NOT_APPLICABLE), set(run.not_applicable) - set(NOT_APPLICABLE)
    listed = {name for run in RUNS for name in run.not_applicable}
    assert listed == set(NOT_APPLICABLE), "a reason for a scenario no run has"


@pytest.mark.parametrize("run", RUNS, ids=[run.label for run in RUNS])
def test_conformance_suite(suites: dict[str, list[str]], server_url: str, run: SuiteRun, tmp_path: Path) -> None:
    scenarios = run_suite(suites[run.version], run, server_url, tmp_path)
    overview = f"{run.label}:\n{table(scenarios)}"
    assert sorted(scenarios) == sorted([*run.applicable, *run.not_applicable]), overview
    for name in run.applicable:
        expected = run.fixture_checks.get(name, frozenset())
        assert set(scenarios[name].failures) == expected, f"{name} must pass\n{overview}"
    for name in run.not_applicable:
        passed = not scenarios[name].failures
        assert passed == (name in PASS_WITHOUT_TESTING), f"{name}: {NOT_APPLICABLE[name]}\n{overview}"
    invalid = [name for name, scenario in scenarios.items() if not scenario.wire_schema_ok]
    assert not invalid, f"messages invalid against the specification's schema in {invalid}\n{overview}"
    warned = {name: frozenset(s.warnings) for name, s in scenarios.items() if s.warnings}
    assert warned == run.warnings, overview
