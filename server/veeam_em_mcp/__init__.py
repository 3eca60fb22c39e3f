"""veeam-em-mcp: an MCP server that answers questions about Veeam backups from Enterprise Manager."""

# The single source of the version (pyproject reads it): importlib.metadata would cost ~50 ms
# of every cold start just to learn it.
__version__ = "0.1.0"

__all__ = ["__version__"]
