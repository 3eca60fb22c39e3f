"""The MCP tools, one module per family; each module has a ``register(server)`` function."""
