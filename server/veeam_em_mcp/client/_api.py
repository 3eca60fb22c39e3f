"""What the client's modules share about EM's REST API: the session header and the logon path."""

from __future__ import annotations

TOKEN_HEADER = "X-RestSvcSessionId"  # noqa: S105  # a header name, not a secret
LOGON_PATH = "/api/sessionMngr/?v=latest"  # from the origin: base_url is always origin + "/api"
