"""``veeam-em-mcp config CLIENT``: a client entry that starts this installation, whatever the client's PATH.

Desktop clients (Claude Desktop above all) start a stdio server with their own PATH, not the shell's, so
``"command": "veeam-em-mcp"`` fails with ``spawn veeam-em-mcp ENOENT`` unless the script is in a system
directory. The entry printed here names the console script by its absolute path (the one next to the
Python running this command, in whatever venv, pipx or uv tool environment installed it), or ``uvx`` by
its absolute path with ``--uvx SPEC``.

The JSON goes to stdout (so it can be piped or pasted as is); where the file lives and which values to
fill go to stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

CLIENTS = ("claude-desktop", "claude-code", "cursor", "vscode")
SCRIPT = "veeam-em-mcp"
SERVER_NAME = "veeam-em"

# The values to fill: (variable, example value, what it is). VS Code asks for the password itself.
FILL = (
    ("VEEAM_EM_URL", "https://em.corp.local:9398", "your Enterprise Manager (HTTPS port 9398)"),
    ("VEEAM_EM_USERNAME", "CORP\\svc-mcp-reader", "an account with an EM role (DOMAIN\\user or user@domain)"),
    ("VEEAM_EM_PASSWORD_FILE", "/etc/veeam-em-mcp/password", "a file holding its password (first line)"),
)
OPTIONAL = (
    "VEEAM_EM_CA_BUNDLE (a PEM file that signs EM's certificate) or VEEAM_EM_TLS_FINGERPRINT (its SHA-256); "
    "HTTPS_PROXY / NO_PROXY if EM is reached through a proxy. The README's Configuration table lists the rest."
)

WHERE = {
    "claude-desktop": (
        "claude_desktop_config.json, under \"mcpServers\" (Settings > Developer > Edit Config opens it):\n"
        "  macOS:   ~/Library/Application Support/Claude/claude_desktop_config.json\n"
        "  Windows: %APPDATA%\\Claude\\claude_desktop_config.json\n"
        "Restart Claude Desktop after saving. Prefer the one-click bundle? See the README (veeam-em-mcp.mcpb)."
    ),
    "claude-code": (
        "a project's .mcp.json (checked in; Claude Code expands ${VAR} in it), or for yourself only:\n"
        "  claude mcp add-json --scope user veeam-em '<the \"veeam-em\" object above>'  (kept in ~/.claude.json)"
    ),
    "cursor": (
        "mcp.json, under \"mcpServers\":\n"
        "  every project: ~/.cursor/mcp.json (Windows: %USERPROFILE%\\.cursor\\mcp.json)\n"
        "  one project:   .cursor/mcp.json in it"
    ),
    "vscode": (
        "mcp.json, under \"servers\" (its \"inputs\" ask for the password once; VS Code keeps it secret):\n"
        "  one workspace: .vscode/mcp.json in it\n"
        "  every workspace: run \"MCP: Open User Configuration\"\n"
        "    (macOS ~/Library/Application Support/Code/User/mcp.json, Linux ~/.config/Code/User/mcp.json,\n"
        "    Windows %APPDATA%\\Code\\User\\mcp.json)"
    ),
}


def installed_command() -> list[str]:
    """The absolute command that starts this installation: its console script, else this Python ``-m``."""
    name = SCRIPT + (".exe" if os.name == "nt" else "")
    candidates = [Path(sys.argv[0]) if Path(sys.argv[0]).name == name else None]
    candidates += [Path(sysconfig.get_path("scripts")) / name, Path(sys.executable).parent / name]
    for candidate in candidates:
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "veeam_em_mcp"]


def uvx_command(spec: str) -> list[str]:
    """``uvx --from SPEC veeam-em-mcp``, uvx by its absolute path when this PATH finds it."""
    uvx = shutil.which("uvx")
    return [str(Path(uvx).absolute()) if uvx else "uvx", "--from", spec, SCRIPT]


def entry(client: str, *, demo: bool = False, uvx: str | None = None) -> dict[str, Any]:
    """The whole file's content for ``client`` with one server, ``veeam-em`` (``veeam-em-demo`` with ``demo``)."""
    command, *args = uvx_command(uvx) if uvx else installed_command()
    server: dict[str, Any] = {"command": command, "args": [*args, "serve", *(["--demo"] if demo else [])]}
    if client in ("claude-code", "vscode"):
        server = {"type": "stdio", **server}
    if not demo:
        env = {name: example for name, example, _ in FILL}
        if client == "vscode":
            del env["VEEAM_EM_PASSWORD_FILE"]
            env["VEEAM_EM_PASSWORD"] = "${input:veeam-em-password}"  # noqa: S105  # a reference, not a password
        server["env"] = env
    name = f"{SERVER_NAME}-demo" if demo else SERVER_NAME
    if client == "vscode":
        document: dict[str, Any] = {"servers": {name: server}}
        if not demo:
            prompt = {"type": "promptString", "id": "veeam-em-password", "password": True}
            document["inputs"] = [{**prompt, "description": "Password of the Enterprise Manager account"}]
        return document
    return {"mcpServers": {name: server}}


def notes(client: str, *, demo: bool = False) -> str:
    lines = [f"Put this in {WHERE[client]}"]
    if demo:
        lines.append("This entry serves the embedded simulator's demo data: no Enterprise Manager, nothing to fill.")
    else:
        lines.append("Fill in:")
        for name, _, what in FILL:
            if client == "vscode" and name == "VEEAM_EM_PASSWORD_FILE":
                continue
            lines.append(f"  {name}: {what}")
        lines.append(f"Optional: {OPTIONAL}")
        lines.append("Check the values first with the same variables set: veeam-em-mcp doctor")
    return "\n".join(lines)

