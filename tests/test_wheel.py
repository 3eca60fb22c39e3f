"""The wheel ships the prompts: build it, install it into a fresh venv, list the prompts over MCP.

The prompt files live outside the Python package in the source tree (``prompts/``) and are
force-included into the wheel as ``veeam_em_mcp/prompts``; an editable install would hide a
packaging mistake, so this test installs the built wheel and talks to its console script.

Speed and offline use: the wheel is built without build isolation when hatchling is importable
(else pip fetches it; the test is skipped only if that is impossible), and the fresh venv reaches
the dependencies (mcp, httpx, …) of the running environment through a ``.pth`` line instead of
downloading them. A ``.pth`` path is added as a plain directory, so the running environment's own
editable-install hook is *not* processed there and ``veeam_em_mcp`` can only come from the wheel.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"investigate_restore_point", "vm_recoverability_report", "explain_backup_chain"}

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)]
    if importlib.util.find_spec("hatchling") is not None:
        command.insert(4, "--no-build-isolation")
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if result.returncode != 0:
        offline = any(word in result.stderr for word in ("No matching distribution", "Could not find", "connection"))
        if offline:
            pytest.skip(f"cannot build the wheel offline (hatchling unavailable): {result.stderr.strip()[-300:]}")
        pytest.fail(f"building the wheel failed:\n{result.stderr[-3000:]}")
    (built,) = out.glob("veeam_em_mcp-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )
    # The dependencies of this environment, as plain directories (no .pth processing inside them).
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_deps_from_test_env.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
         "--target", str(purelib), str(wheel)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    # `pip --target` writes no console script (and pip --prefix would point it at *this* Python):
    # write the one the wheel's own entry-point metadata declares.
    (entry_points,) = purelib.glob("veeam_em_mcp-*.dist-info/entry_points.txt")
    parser = configparser.ConfigParser()
    parser.read(entry_points, encoding="utf-8")
    module, _, function = parser["console_scripts"]["veeam-em-mcp"].partition(":")
    script = root / "bin" / "veeam-em-mcp"
    script.write_text(
        f"#!{python}\nimport sys\nfrom {module.strip()} import {function.strip()}\nsys.exit({function.strip()}())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return root


def test_wheel_contains_the_prompt_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for prompt in sorted((ROOT / "prompts").glob("*.md")):
        assert f"veeam_em_mcp/prompts/{prompt.name}" in names


def test_installed_package_loads_prompts_from_itself(installed: Path) -> None:
    code = (
        "import veeam_em_mcp, veeam_em_mcp.prompts as p; "
        "print(veeam_em_mcp.__file__); print(p.prompts_dir()); print(','.join(t.name for t in p.load_prompts()))"
    )
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-c", code],
        capture_output=True, text=True, timeout=60, check=True, cwd=installed,
    )
    package_file, directory, names = result.stdout.strip().splitlines()
    assert Path(package_file).is_relative_to(installed), "veeam_em_mcp must come from the wheel, not the source tree"
    assert Path(directory).is_relative_to(installed) and Path(directory).name == "prompts"
    assert EXPECTED <= set(names.split(","))


async def test_installed_server_lists_prompts_over_mcp(installed: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_", "PYTHONPATH"))}
    params = StdioServerParameters(
        command=str(installed / "bin" / "veeam-em-mcp"),
        args=["serve", "--demo"],
        env={**env, "VEEAM_MCP_LOG_LEVEL": "WARNING"},
        cwd=str(installed),
    )
    async with Client(params, read_timeout_seconds=60) as client:
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        rendered = await client.get_prompt("vm_recoverability_report", {"vm_name": "sql01"})
    assert EXPECTED <= prompts
    assert "sql01" in rendered.messages[0].content.text
