"""veeam-em-mcp: an MCP server that answers questions about Veeam backups from Enterprise Manager."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("veeam-em-mcp")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]
