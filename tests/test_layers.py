"""The layers import downward only; the simulator imports nothing of the product.

    cli, demo, client_config ... processes (may import anything, the simulator only for --demo, demo, simulator)
    surface/ ............ server, tools/, resources, prompts, http/, protocol (client_logs, subscriptions, mistakes),
                          sdk_seams, apps/: the MCP wiring
    services/ ........... EM operations; know nothing of MCP
    client .............. the async EM client
    representation/ ..... EM's wire format → models (no I/O)
    models/ ............. pydantic models
    errors, config, text, __init__ ... foundations every layer may use

The check reads every module's imports (``ast``), so it also sees imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "server" / "veeam_em_mcp"
LAYERS = ["foundation", "models", "representation", "client", "services", "surface", "process"]
FOUNDATION = {"__init__", "errors", "config", "text"}
PROCESS = {"cli", "demo", "client_config", "__main__"}
# Third-party packages that belong to one layer and above (the MCP SDK is the surface's business).
THIRD_PARTY_FLOOR = {"mcp": "surface", "uvicorn": "surface", "starlette": "surface", "h11": "surface"}


def layer_of(module: str) -> str:
    """The layer of ``veeam_em_mcp.<...>`` (``simulator`` is outside the product's layers)."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if top == "simulator":
        return "simulator"
    if top in FOUNDATION:
        return "foundation"
    if top in ("models", "representation", "client", "services", "surface"):
        return top
    if top in PROCESS:
        return "process"
    raise AssertionError(f"{module}: not in any layer; add it to tests/test_layers.py")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(relative.parts)


def imports_of(module: str, source: str) -> set[str]:
    """Absolute names of what ``module`` imports (relative imports resolved)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]  # the package a relative import starts from
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
                found |= {f"{target}.{alias.name}" for alias in node.names} | {target}
            elif node.module:
                found.add(node.module)
    return found


def violations(module: str, source: str) -> list[str]:
    own = layer_of(module)
    problems = []
    for name in sorted(imports_of(module, source)):
        root = name.split(".")[0]
        if root == "veeam_em_mcp":
            try:
                target = layer_of(name)
            except AssertionError:
                continue  # a name imported from the package itself (e.g. "from .. import __version__")
            if own == "simulator":
                if target != "simulator":
                    problems.append(f"{module} (simulator) imports {name}: the simulator imports nothing of the product")
            elif target == "simulator":
                if module not in ("veeam_em_mcp.cli", "veeam_em_mcp.simulator"):
                    problems.append(f"{module} imports the simulator ({name}); only the CLI may, for --demo/simulator")
            elif LAYERS.index(target) > LAYERS.index(own):
                problems.append(f"{module} ({own}) imports {name} ({target}), a layer above it")
        elif root in THIRD_PARTY_FLOOR and own != "simulator":
            floor = THIRD_PARTY_FLOOR[root]
            if LAYERS.index(own) < LAYERS.index(floor):
                problems.append(f"{module} ({own}) imports {name}, which belongs to the {floor} layer")
    return problems


def all_modules() -> list[tuple[str, str]]:
    return [(module_name(path), path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.rglob("*.py"))]


def test_every_module_imports_only_downward() -> None:
    problems = [problem for module, source in all_modules() for problem in violations(module, source)]
    assert problems == []


def test_the_tree_shows_the_layers() -> None:
    for package in ("models", "representation", "services", "surface", "surface/tools", "surface/http", "simulator"):
        assert (PACKAGE / package / "__init__.py").is_file(), package


def test_the_package_root_holds_only_processes_and_foundations() -> None:
    """The MCP surface is in ``surface/``: a module at the root is a process or a foundation."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    assert modules <= FOUNDATION | PROCESS, sorted(modules - FOUNDATION - PROCESS)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("veeam_em_mcp.models.resources", "from ..services import links", "a layer above it"),
        ("veeam_em_mcp.representation.parse", "from veeam_em_mcp.client import X", "a layer above it"),
        ("veeam_em_mcp.services.links", "import mcp.types", "belongs to the surface layer"),
        ("veeam_em_mcp.services.links", "def f():\n    from ..surface.server import build_server", "a layer above it"),
        ("veeam_em_mcp.simulator.app", "from veeam_em_mcp.models import base", "imports nothing of the product"),
        ("veeam_em_mcp.surface.tools.links", "from ...simulator import runner", "only the CLI may"),
    ],
)
def test_the_check_fails_on_a_wrong_import(module: str, source: str, expected: str) -> None:
    problems = violations(module, source)
    assert problems and expected in problems[0]


def test_the_check_accepts_downward_imports() -> None:
    assert violations("veeam_em_mcp.surface.tools.links", "from ...services.links import follow\nimport mcp.types") == []
    assert violations("veeam_em_mcp.cli", "from .simulator.runner import RunningSimulator") == []


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports (at the top, inside functions or under TYPE_CHECKING).

    A submodule's import of its own package (``from . import x`` names the package first) is left out: the
    package's ``__init__`` runs before any of its modules anyway.
    """
    sources = dict(all_modules())
    modules = {name.removesuffix(".__init__") for name in sources}
    graph: dict[str, set[str]] = {}
    for name, source in sources.items():
        module = name.removesuffix(".__init__")
        targets = set()
        for imported in imports_of(name, source):
            parts = imported.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            target = ".".join(parts)
            if target and target != module and not module.startswith(f"{target}."):
                targets.add(target)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
