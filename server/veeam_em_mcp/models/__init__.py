"""The pydantic models of everything veeam-em-mcp returns (the lowest layer: it imports nothing above it).

- ``base``: the strict, compact-schema base class, EM timestamps, the VM platform;
- ``resources``: one model per Enterprise Manager resource type (rows of ``representation.registry``);
- ``results``: what the search and summary tools return;
- ``diagnosis``: the connection diagnosis of ``check_connection`` and ``doctor``.
"""
