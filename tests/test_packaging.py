"""What a user downloads: the sdist, the wheel's metadata, the MCP registry manifest, the example config.

- The sdist is built from the working tree and the wheel from that sdist (``python -m build``), as
  a user's ``pip install`` from source would; every file that README.md or docs/*.md links to must
  be inside the sdist, and so must the licence, ``server.json`` and ``.mcp.json.example``.
- The wheel carries the licence file, classifiers, project URLs and the server icon.
- ``server.json`` validates against the MCP registry's published schema (2025-12-11), as shipped
  byte for byte by the pinned ``skillsaw`` package (never fetched from the web), passes that
  linter's registry rules, and agrees with the project: name = the README's ``mcp-name`` marker,
  versions = ``__version__``, package = this distribution, variables = the ones the server reads.
"""

from __future__ import annotations

import dataclasses
import email
import importlib.resources
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from veeam_em_mcp import __version__
from veeam_em_mcp.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "server" / "veeam_em_mcp"
REGISTRY_SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
# Markdown links: [text](target "title"); images too. The target ends at whitespace or ')'.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_VARIABLE = re.compile(r"VEEAM_(?:EM|MCP)_[A-Z_]+")


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path


def _network_trouble(text: str) -> bool:
    return any(word in text for word in ("No matching distribution", "Could not find", "connection", "Network"))


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """sdist from the tree, wheel from the sdist: a wheel that needs a file the sdist lacks fails here."""
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)]
    if importlib.util.find_spec("hatchling") is not None:
        command.insert(3, "--no-isolation")  # else build installs hatchling in an isolated env (PyPI)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        if _network_trouble(result.stdout + result.stderr) and not _in_ci():
            pytest.skip(f"cannot fetch the build backend: {result.stderr.strip()[-300:]}")
        pytest.fail(f"python -m build failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    (sdist,) = out.glob("veeam_em_mcp-*.tar.gz")
    (wheel,) = out.glob("veeam_em_mcp-*.whl")
    return Dists(sdist, wheel)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def sdist_files(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    prefix = names[0].split("/")[0] + "/"
    return {name.removeprefix(prefix) for name in names if name.startswith(prefix)}


def linked_files(document: Path) -> set[str]:
    """Repository-relative paths of the local files a Markdown document links to."""
    found: set[str] = set()
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue  # a URL or an anchor in the same page
        path = (document.parent / target.split("#", 1)[0]).resolve()
        found.add(path.relative_to(ROOT).as_posix())
    return found


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_docs_link_to_files_that_exist() -> None:
    for document in documents():
        for target in linked_files(document):
            assert (ROOT / target).exists(), f"{document.name} links to {target}, which does not exist"
    assert "docs/faults.md" in linked_files(ROOT / "README.md"), "the link scan finds the README's links"


def test_the_sdist_holds_every_linked_file(dists: Dists) -> None:
    inside = sdist_files(dists.sdist)
    wanted = {"LICENSE", "server.json", ".mcp.json.example", "README.md", "pyproject.toml", ".ci/run"}
    for document in documents():
        wanted.add(document.relative_to(ROOT).as_posix())
        for target in linked_files(document):
            if (ROOT / target).is_dir():
                assert any(name.startswith(f"{target}/") for name in inside), f"{target}/ is not in the sdist"
            else:
                wanted.add(target)
    missing = sorted(wanted - inside)
    assert not missing, f"the sdist lacks {missing}"
    # The tests run from an unpacked sdist: the scripts they call are in it.
    assert {".ci/inspector.sh", ".ci/conformance.sh"} <= inside
    assert not [name for name in inside if "/node_modules/" in name or name.startswith(".ci/node")]


def test_the_wheel_carries_licence_metadata_and_icon(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(metadata_name))
        licence = next(name for name in names if name.endswith(".dist-info/licenses/LICENSE"))
        assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
        assert archive.read("veeam_em_mcp/surface/icon.png") == (PACKAGE / "surface" / "icon.png").read_bytes()
    assert metadata["License-Expression"] == "MIT"
    classifiers = metadata.get_all("Classifier") or []
    assert "Topic :: System :: Archiving :: Backup" in classifiers and "Typing :: Typed" in classifiers
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert urls == project["urls"] and {"Homepage", "Repository", "Issues"} <= set(urls)
    assert "mcp-name: " in (metadata.get_payload() or ""), "PyPI's long description carries the registry marker"


def test_twine_check_passes_the_sdist_and_the_wheel(dists: Dists) -> None:
    """What PyPI would check at upload: the metadata and that the README renders as the long description."""
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists.sdist), str(dists.wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


_COUNTED = re.compile(
    r"\b(?:all|the)\s+(\w+)\s+(?:read-only\s+)?(tools|prompts|prompt files)\b", re.IGNORECASE
)
_NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"


def test_the_docs_count_the_tools_and_prompts_the_server_has() -> None:
    """"All fourteen tools", "the three prompt files": a count in the docs is the server's, or not written."""
    from veeam_em_mcp.surface.prompts import load_prompts
    from veeam_em_mcp.surface.tools import ALL_TOOLS

    actual = {"tools": len(ALL_TOOLS), "prompts": len(load_prompts())}
    words = {word: number for number, word in enumerate(_NUMBERS.split())}
    found = []
    for document in documents():
        for word, what in _COUNTED.findall(document.read_text(encoding="utf-8")):
            number = int(word) if word.isdigit() else words.get(word.lower())
            if number is None:
                continue  # "all the tools", "the estate tools": no count
            kind = "tools" if what.lower() == "tools" else "prompts"
            found.append((document.name, number, kind))
            assert number == actual[kind], f"{document.name} says {word} {what}; the server has {actual[kind]}"
    assert found, "docs/tools.md counts the tools"
    assert _COUNTED.findall("the five read-only tools and the three prompt files") == [
        ("five", "tools"),
        ("three", "prompt files"),
    ]


# --- server.json ------------------------------------------------------------------------------------


def registry_schema() -> dict[str, Any]:
    schema_file = importlib.resources.files("skillsaw.schemas.mcp_registry.v2025_12_11") / "server.schema.json"
    schema: dict[str, Any] = json.loads(schema_file.read_text(encoding="utf-8"))
    return schema


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    return loaded


def test_server_json_validates_against_the_registry_schema() -> None:
    schema = registry_schema()
    assert schema["$id"] == REGISTRY_SCHEMA
    document = manifest()
    assert document["$schema"] == schema["$id"]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)
    ]
    assert not errors, errors
    # The validator does reject what the registry rejects: the check cannot pass vacuously.
    assert list(validator.iter_errors({**document, "description": "x" * 101}))
    assert list(validator.iter_errors({k: v for k, v in document.items() if k != "version"}))


def test_server_json_passes_the_registry_linter(tmp_path: Path) -> None:
    shutil.copy(ROOT / "server.json", tmp_path / "server.json")
    skillsaw = Path(sys.executable).with_name("skillsaw")
    result = subprocess.run(
        [str(skillsaw), "lint", "--strict", "--no-progress", "--no-color", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Repo type: mcp-registry" in result.stdout, result.stdout
    assert result.returncode == 0, result.stdout[-3000:]


def test_server_json_agrees_with_the_project() -> None:
    document = manifest()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    marker = re.search(r"mcp-name: (\S+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert marker and marker.group(1) == document["name"], "PyPI ownership check: README marker = server.json name"
    owner = document["name"].removeprefix("io.github.").split("/")[0]
    assert document["repository"] == {"url": project["urls"]["Repository"], "source": "github"}
    assert project["urls"]["Repository"] == f"https://github.com/{owner}/veeam-em-mcp"
    assert document["version"] == __version__
    (package,) = document["packages"]
    assert (package["registryType"], package["identifier"], package["version"]) == (
        "pypi",
        project["name"],
        __version__,
    )
    assert package["transport"] == {"type": "stdio"}
    assert [argument["value"] for argument in package["packageArguments"]] == ["serve"]

    variables = {variable["name"]: variable for variable in package["environmentVariables"]}
    read_by_server = {
        name
        for path in PACKAGE.rglob("*.py")
        if "simulator" not in path.parts
        for name in _VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    # The HTTP transport's variables configure a deployment, not this stdio package.
    assert set(variables) == {name for name in read_by_server if not name.startswith("VEEAM_MCP_HTTP_")}
    assert {name for name, variable in variables.items() if variable.get("isRequired")} == {
        "VEEAM_EM_URL",
        "VEEAM_EM_USERNAME",
    }
    assert {name for name, variable in variables.items() if variable.get("isSecret")} == {"VEEAM_EM_PASSWORD"}


def test_server_json_defaults_are_the_servers() -> None:
    """Each default server.json states is the one the server applies (Settings' field, or the log level's)."""
    (package,) = manifest()["packages"]
    stated = {variable["name"]: variable["default"] for variable in package["environmentVariables"] if "default" in variable}
    applied = {item.name: item.default for item in dataclasses.fields(Settings) if item.default is not dataclasses.MISSING}
    assert stated.pop("VEEAM_MCP_LOG_LEVEL") == "INFO" and 'os.environ.get("VEEAM_MCP_LOG_LEVEL", "INFO")' in (
        PACKAGE / "cli.py"
    ).read_text(encoding="utf-8")
    assert len(stated) >= 9, stated
    for name, text in stated.items():
        field = name.removeprefix("VEEAM_EM_").removeprefix("VEEAM_MCP_").lower()
        assert field in applied, f"{name}: no Settings field {field!r} to compare with"
        value = applied[field]
        expected = str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)
        assert text == expected, f"server.json says {name} defaults to {text}; the server uses {expected}"


def test_the_mcp_json_example_is_a_working_claude_code_config() -> None:
    config = json.loads((ROOT / ".mcp.json.example").read_text(encoding="utf-8"))
    servers = config["mcpServers"]
    local = servers["veeam-em"]
    assert (local["command"], local["args"]) == ("veeam-em-mcp", ["serve"])
    # Secrets and site values come from the environment (Claude Code expands ${VAR}), never the file.
    for name, value in local["env"].items():
        assert value.startswith(f"${{{name}") and value.endswith("}"), (name, value)
    assert "VEEAM_EM_PASSWORD" not in local["env"], "the example reads the password from a file"
    assert servers["veeam-em-shared"]["headers"] == {"Authorization": "Bearer ${VEEAM_MCP_HTTP_TOKEN}"}
    assert servers["veeam-em-demo"]["args"] == ["serve", "--demo"]


def test_every_package_the_server_imports_is_declared() -> None:
    """A package the server imports but does not declare comes only because another brings it, at whatever
    version that one allows: the server would break when it stops, or moves."""
    import ast
    import importlib.metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")
                for spec in project["dependencies"]}
    optional = {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")
                for spec in project["optional-dependencies"]["redis"]}
    distributions = importlib.metadata.packages_distributions()
    imported: dict[str, set[str]] = {}
    for path in (ROOT / "server" / "veeam_em_mcp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            for name in names:
                top = name.split(".", 1)[0]
                if top in sys.stdlib_module_names or top == "veeam_em_mcp":
                    continue
                for dist in distributions.get(top, [top]):
                    imported.setdefault(dist.lower().replace("_", "-"), set()).add(path.name)
    missing = {dist: sorted(files) for dist, files in imported.items() if dist not in declared | optional}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
    assert {"mcp", "httpx", "pydantic", "anyio", "uvicorn", "starlette", "h11"} <= set(imported) & declared
