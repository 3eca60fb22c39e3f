"""The wheel as users install it: it ships the prompts, and pip, pipx and uv install it and run it.

The wheel is the one ``tests/test_packaging.py`` builds from the sdist (``python -m build``), so it
is what a clean checkout produces.

- The prompt files live outside the Python package in the source tree (``prompts/``) and are
  force-included into the wheel as ``veeam_em_mcp/surface/prompts``; an editable install would hide a
  packaging mistake, so these tests install the built wheel and talk to its console script. That
  venv reaches the dependencies (mcp, httpx, …) of the running environment through a ``.pth`` line
  instead of downloading them; a ``.pth`` path is added as a plain directory, so the running
  environment's own editable-install hook is *not* processed there and ``veeam_em_mcp`` can only
  come from the wheel.
- ``pip install`` into a fresh venv, ``pipx install`` and ``uv tool install`` (each with its own
  home in a temporary directory, dependencies from PyPI as for any user) must each give a
  ``veeam-em-mcp`` that runs ``veeam-em-mcp demo``. Without a reachable package index they are
  skipped, except in CI, where they fail.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from veeam_em_mcp.surface.tools import ALL_TOOLS

from .test_packaging import Dists, _in_ci, _network_trouble, dists  # noqa: F401  # dists: the same sdist -> wheel build

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"investigate_restore_point", "vm_recoverability_report", "explain_backup_chain"}

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def wheel(dists: Dists) -> Path:  # noqa: F811
    return dists.wheel


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies of this environment, as plain directories (no .pth processing inside them).
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_deps_from_test_env.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--target",
            str(purelib),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
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
        assert f"veeam_em_mcp/surface/prompts/{prompt.name}" in names


def test_installed_package_loads_prompts_from_itself(installed: Path) -> None:
    code = (
        "import veeam_em_mcp, veeam_em_mcp.surface.prompts as p; "
        "print(veeam_em_mcp.__file__); print(p.prompts_dir()); print(','.join(t.name for t in p.load_prompts()))"
    )
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=installed,
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


# --- pip, pipx and uv, as users install it --------------------------------------------------------


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who has none of this project's settings or virtualenv active."""
    skip = ("VEEAM_EM_", "VEEAM_MCP_", "PYTHONPATH", "VIRTUAL_ENV", "PIPX_", "UV_TOOL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(sys.executable).parent != Path(p)
    )
    return {**env, "HOME": str(home), **extra}


def install(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if _network_trouble(output) and not _in_ci():
            pytest.skip(f"{what}: no package index reachable for the dependencies: {output.strip()[-300:]}")
        pytest.fail(f"{what} failed ({result.returncode}):\n{output[-3000:]}")


def runs_the_demo(script: Path, env: dict[str, str], cwd: Path) -> None:
    assert script.is_file(), f"{script} was not installed"
    result = subprocess.run(
        [str(script), "demo"], capture_output=True, text=True, timeout=180, env=env, cwd=cwd, check=False
    )
    assert result.returncode == 0, f"veeam-em-mcp demo exited {result.returncode}:\n{result.stderr[-3000:]}"
    assert f"tools/list  ->  {len(ALL_TOOLS)} tools" in result.stdout, result.stdout[-2000:]
    assert "All of the above is DEMO DATA from the simulator." in result.stdout, result.stdout[-2000:]


def test_pip_installs_the_wheel_into_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(root)
    env = user_env(tmp_path)
    install([str(root / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], env, "pip install")
    runs_the_demo(root / "bin" / "veeam-em-mcp", env, tmp_path)


def test_pipx_installs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    pipx = Path(sys.executable).with_name("pipx")
    if not pipx.exists():
        pytest.fail("pipx is not installed: pip install -e '.[test]'")
    env = user_env(
        tmp_path,
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
    )
    install([str(pipx), "install", "--python", sys.executable, str(wheel)], env, "pipx install")
    runs_the_demo(tmp_path / "bin" / "veeam-em-mcp", env, tmp_path)


def test_uv_tool_installs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.fail("uv is not installed: pip install -e '.[test]'")
    env = user_env(
        tmp_path,
        UV_TOOL_DIR=str(tmp_path / "uv-tools"),
        UV_TOOL_BIN_DIR=str(tmp_path / "bin"),
        UV_PYTHON_DOWNLOADS="never",  # the interpreter is given; uv must not fetch one
    )
    install([uv, "tool", "install", "--quiet", "--python", sys.executable, str(wheel)], env, "uv tool install")
    runs_the_demo(tmp_path / "bin" / "veeam-em-mcp", env, tmp_path)
