"""``check_connection``: the server's own view of its Enterprise Manager connection, in one look.

When a tool fails with "cannot connect" or "logon rejected", the model (or the person) needs to
know which of several causes it is before anything else makes sense. This tool runs the same
diagnosis as ``veeam-em-mcp doctor`` through the server's shared client and returns it as a
structured report. A failed diagnosis is still a successful call: the report *is* the answer.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from ...models.diagnosis import ConnectionDiagnosis
from ...services.diagnosis import diagnose
from ..state import state_of
from ._registration import ToolSpec
from .common import structured_result

CHECK_CONNECTION = """\
Check the connection to Veeam Backup Enterprise Manager and say what is wrong, if anything: \
whether EM is reachable, whether its TLS certificate is trusted (and which variable fixes it), the \
REST API versions EM supports (GET /api/), whether the logon works (user-name format DOMAIN\\user or \
user@domain, EM role), whether the URL points at something that is not EM (the VBR REST API on \
port 9419, a web UI), and whether the account can see restore points. Call it when another tool \
reports a connection, TLS or logon error, or when the user asks whether the server is set up; \
report its 'verdict' and the 'fix' of the failed check. It never shows the password."""


async def check_connection(ctx: Context) -> Annotated[CallToolResult, ConnectionDiagnosis]:
    em = state_of(ctx)
    # fresh_logon=False: reuse the shared session rather than open a second EM session.
    return structured_result(em, await diagnose(em.client, fresh_logon=False))


TOOLS = (ToolSpec(check_connection, "Check the Enterprise Manager connection", CHECK_CONNECTION),)
