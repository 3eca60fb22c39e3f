"""The async Enterprise Manager client: one logon session shared by every tool call.

EM sessions are expensive (each logon is a Windows authentication on the EM server) and expire
after 15 idle minutes, so the client logs on lazily, reuses the token for every call, and when a
call meets an expired session it logs on again exactly once however many calls are in flight
(single-flight), then retries that call once. GETs are retried on transient failures; logons and
anything else are never retried. Reads are capped in size and time, and concurrent requests to EM
are bounded so that a busy assistant cannot overload the backup infrastructure.

Two rules keep a bad day harmless (docs/resilience.md):

- A rejected logon (401, or 403 for a missing role) cannot lock the account out: after it, no logon
  is tried for a back-off period (30 s, 5 min, then 15 min each time) and every call fails at once
  with the same error; calls waiting for that logon share its outcome. A new password in
  VEEAM_EM_PASSWORD_FILE ends the back-off at once; an explicit ``logon()`` (check_connection)
  may try once sooner, bounded so that it cannot become a stream either.
- Every tool call runs under one deadline (``deadline()``, applied by the tool layer) that covers
  the wait for a connection slot, the logon, every attempt and the pauses between them; when it
  passes, the error says what was slow.

The client is split the way httpx is split:

    _client ..... EnterpriseManagerClient: get, probe, logon, the deadline; the send chain (retries, the
                  connection limit, size caps)
    _session .... the logon session, single-flight re-logon, and the back-off after a rejected logon
    _deadline ... the per-call deadline and the error that says what was slow
    _errors ..... EM's answers (statuses, transport failures, oversized/compressed/HTML bodies) in our errors
    _network .... TLS trust (CA bundle, pinned fingerprint), the environment's proxy, no cookies
    _api ........ the session header and the logon path

The names below are the client's public ones (``from veeam_em_mcp.client import ...``).
"""

from __future__ import annotations

from ._api import LOGON_PATH, TOKEN_HEADER
from ._client import RESPONSE_HOOK, ClientStats, EnterpriseManagerClient
from ._deadline import CallDeadline, Waiting
from ._network import environment_proxy, tls_verify_setting
from ._session import FORCED_LOGON_MIN_AGE, LOGON_BACKOFF, LogonBackoff

__all__ = [
    "FORCED_LOGON_MIN_AGE",
    "LOGON_BACKOFF",
    "LOGON_PATH",
    "RESPONSE_HOOK",
    "TOKEN_HEADER",
    "CallDeadline",
    "ClientStats",
    "EnterpriseManagerClient",
    "LogonBackoff",
    "Waiting",
    "environment_proxy",
    "tls_verify_setting",
]
