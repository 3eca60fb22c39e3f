"""The command line: configuration errors are one clear line; the demo runs end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("VEEAM_")}


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "veeam_em_mcp", *args],
        env={**BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "VEEAM_EM_URL"),
        ({"VEEAM_EM_URL": "em.corp.local"}, "VEEAM_EM_URL"),
        ({"VEEAM_EM_URL": "https://em:9398"}, "VEEAM_EM_USERNAME"),
        ({"VEEAM_EM_URL": "https://em:9398", "VEEAM_EM_USERNAME": "u"}, "VEEAM_EM_PASSWORD"),
        (
            {
                "VEEAM_EM_URL": "https://em:9398",
                "VEEAM_EM_USERNAME": "u",
                "VEEAM_EM_PASSWORD": "p",
                "VEEAM_EM_FORMAT": "yaml",
            },
            "VEEAM_EM_FORMAT",
        ),
        (
            {
                "VEEAM_EM_URL": "https://em:9398",
                "VEEAM_EM_USERNAME": "u",
                "VEEAM_EM_PASSWORD": "p",
                "VEEAM_EM_TIMEOUT": "soon",
            },
            "VEEAM_EM_TIMEOUT",
        ),
        (
            {
                "VEEAM_EM_URL": "https://em:9398",
                "VEEAM_EM_USERNAME": "u",
                "VEEAM_EM_PASSWORD": "p",
                "VEEAM_EM_VERIFY_TLS": "maybe",
            },
            "VEEAM_EM_VERIFY_TLS",
        ),
        (
            {
                "VEEAM_EM_URL": "https://em:9398",
                "VEEAM_EM_USERNAME": "u",
                "VEEAM_EM_PASSWORD": "p",
                "VEEAM_EM_CA_BUNDLE": "/nonexistent.pem",
            },
            "VEEAM_EM_CA_BUNDLE",
        ),
    ],
)
def test_configuration_errors_are_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    done = run(["serve"], env, timeout=60)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert variable in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_demo_prints_a_transcript_and_exits_zero() -> None:
    done = run(["demo"], {}, timeout=180)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "get_vm_restore_point" in out and "follow_link" in out
    assert "backup file:" in out and "backup server:" in out
    assert "sql01" in out
    assert "DEMO DATA" in out
    assert "refused" in out
