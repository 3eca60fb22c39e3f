"""The MCP surface: the server, its tools, resources and prompts, the protocol behaviour, the HTTP transport,
the MCP Apps views, and the one seam into the SDK's private parts. Thin adapters over ``services``."""
