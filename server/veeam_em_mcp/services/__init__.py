"""Where the Enterprise Manager operations are: what the tools and resources do, without MCP.

Each module is one family of operations over the shared ``EmContext`` (settings, client, link policy,
result budget): ``restore_points`` (one point, the search, a VM's recovery summary), ``links``
(follow an href), ``diagnosis`` and ``connection`` (what is wrong with the connection), ``completion``
(VM names). They raise ``veeam_em_mcp.errors`` and return models; the MCP surface (``surface/tools/``,
``surface/resources``) only wires them to the protocol.
"""
