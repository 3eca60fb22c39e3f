"""Build the Claude Desktop bundle (veeam-em-mcp-VERSION.mcpb) with the pinned ``mcpb`` CLI.

    python bundle/build.py [OUTDIR]        # default OUTDIR: dist/; prints the bundle's path

The bundle is a ``uv`` bundle (MCPB manifest 0.4): the project's sources, prompts and pyproject.toml next to
bundle/manifest.json. Claude Desktop's own uv installs Python and the dependencies on first start, so the
bundle stays small and carries no platform-specific wheel (pydantic-core is compiled). The files are staged
in a temporary directory (the repository holds tests, caches and venvs that do not belong in it), validated
(``mcpb validate``) and packed (``mcpb pack``). Needs npm: the CLI is installed by .ci/mcpb.sh.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the bundle carries: enough for `uv run --project` to build and install the package.
FILES = ("pyproject.toml", "README.md", "LICENSE")
TREES = ("server", "prompts")


def mcpb() -> str:
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "mcpb.sh")], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f".ci/mcpb.sh failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def stage(directory: Path) -> None:
    shutil.copy(ROOT / "bundle" / "manifest.json", directory / "manifest.json")
    shutil.copy(ROOT / "server" / "veeam_em_mcp" / "surface" / "icon.png", directory / "icon.png")
    for name in FILES:
        shutil.copy(ROOT / name, directory / name)
    for tree in TREES:
        shutil.copytree(ROOT / tree, directory / tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build(outdir: Path) -> Path:
    from veeam_em_mcp import __version__

    cli = mcpb()
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / f"veeam-em-mcp-{__version__}.mcpb"
    with tempfile.TemporaryDirectory(prefix="veeam-em-mcp-bundle-") as staging:
        stage(Path(staging))
        for command in ([cli, "validate", str(Path(staging) / "manifest.json")], [cli, "pack", staging, str(target)]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
            print(done.stdout.strip(), file=sys.stderr)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command[1:2])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"))
