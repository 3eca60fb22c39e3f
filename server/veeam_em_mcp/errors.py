"""Every failure veeam-em-mcp reports on purpose, in one place.

Each error's message is written for the person (or model) who has to act on it: it says what
went wrong *and* what to do next. The MCP surface hands these messages to the model verbatim (as
``ToolError``), so they must never contain a password or a session token. Foreign exceptions
(httpx, ssl, expat, json, pydantic) are mapped to these once, where they are first met: the client
for the network, the representation layer for EM's bodies.

Hierarchy::

    VeeamEmError
    ├── ConfigurationError ........... a VEEAM_EM_* / VEEAM_MCP_* variable is missing or invalid
    ├── HttpSetupError ............... the HTTP transport cannot start as configured
    ├── PromptFileError .............. a prompt file in prompts/ is malformed
    ├── RequestRefused ............... refused here, before any request reached EM
    │   ├── InvalidIdentifier ........ not a GUID, UID or href of the expected kind
    │   ├── InvalidArgument .......... a tool argument is out of range or malformed
    │   └── LinkRefused .............. an href off the EM origin, a traversal, or an action link
    ├── TransportError ............... EM could not be reached or did not answer in time
    │   ├── EnterpriseManagerUnreachable
    │   ├── TlsVerificationFailed .... certificate not trusted (CA bundle / fingerprint)
    │   └── RequestTimedOut .......... one request took longer than VEEAM_EM_TIMEOUT
    │       └── DeadlineExceeded ..... a tool call's whole deadline passed (queueing, logon, retries)
    ├── LogonRejected ................ EM rejected the logon; logons back off (no account lockout)
    │   ├── AuthenticationFailed ..... 401 at logon: the credentials
    │   └── RoleMissing .............. 403 at logon: no EM role (also an AccessDenied)
    ├── NotEnterpriseManager ......... the URL answers, but it is not the EM REST API
    ├── ApiError ..................... EM answered with an error status
    │   ├── BadRequest (400)
    │   ├── SessionRejected (401 after a fresh logon)
    │   ├── AccessDenied (403)
    │   │   └── RoleMissing (403 at logon, see above)
    │   ├── NotFound (404)
    │   └── ServerError (5xx)
    └── ResponseError ................ EM's answer (or ours) could not be used
        ├── MalformedResponse
        │   └── HtmlInsteadOfApi ..... an HTML page where an EM resource was expected
        ├── ResponseTooLarge ......... EM's answer is over VEEAM_EM_MAX_RESPONSE_BYTES
        ├── ResultTooLarge ........... a tool's own answer is over VEEAM_MCP_MAX_RESULT_CHARS
        └── SnapshotUnavailable ...... a cursor's snapshot is gone (expired, another replica, store down)
"""

from __future__ import annotations

import re


class VeeamEmError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(VeeamEmError):
    """Raised at start when a variable is missing or invalid; the server does not start.

    What to do: set the named variable as the message says (the README's Configuration table lists them).
    """

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class HttpSetupError(VeeamEmError):
    """Raised by ``serve --transport http`` before it listens: no token, a short token, or ``--no-auth``
    on a non-loopback host. The message is one line saying why; set ``VEEAM_MCP_HTTP_TOKEN`` or bind loopback.
    """


class PromptFileError(VeeamEmError, ValueError):
    """Raised at start when a file in ``prompts/`` is malformed; the message names the file and line to fix.

    A broken prompt is a packaging bug, so the server refuses to start rather than serve half a template.
    """


class RequestRefused(VeeamEmError):
    """Refused before any request was sent to Enterprise Manager."""


class InvalidIdentifier(RequestRefused):
    """Raised when an id is not a GUID, UID or href of the kind the tool expects.

    Nothing was sent; the message shows the accepted forms, so correct the id and call again.
    """

    def __init__(self, value: str, expected: str) -> None:
        self.value = value
        super().__init__(
            f"{value!r} is not a valid identifier: expected {expected}. "
            "Nothing was sent to Enterprise Manager; correct the id and call again."
        )


class InvalidArgument(RequestRefused):
    """Raised when a tool argument is malformed or out of range (a date, a cursor, a page size, a name).

    Nothing was sent; the message says which argument and what is accepted.
    """


def redact_userinfo(href: str) -> str:
    """Hide ``user:password@`` in a URL before it is repeated in a message or a log."""
    return _USERINFO.sub(r"\1***@", href)


_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:/*)[^/?#]*@")


class LinkRefused(RequestRefused):
    """Raised by ``follow_link`` for an href it will not fetch: another host or port, a path outside
    ``/api/``, traversal, an action link (``?action=…``), logon sessions or stored credentials.

    No request was made; use a read-only href from an earlier result.
    """

    def __init__(self, href: str, reason: str) -> None:
        self.href = redact_userinfo(href)
        self.reason = reason
        super().__init__(
            f"Refused to follow {self.href!r}: {reason}. No request was made. follow_link only fetches "
            "read-only links found in earlier results, on the configured Enterprise Manager."
        )


class TransportError(VeeamEmError):
    """Enterprise Manager could not be reached, or did not answer in time."""


class EnterpriseManagerUnreachable(TransportError):
    """Raised when no connection to EM could be made, or it broke mid-answer (after the GET retries).

    Check VEEAM_EM_URL, that the Veeam RESTful API service runs, and the firewall.
    """


class TlsVerificationFailed(TransportError):
    """Raised when EM's certificate is not trusted, or the TLS handshake fails (never retried).

    Set VEEAM_EM_CA_BUNDLE or VEEAM_EM_TLS_FINGERPRINT; a failed handshake often means a plain-HTTP port.
    """


class RequestTimedOut(TransportError):
    """Raised when EM does not answer one request within VEEAM_EM_TIMEOUT (after the GET retries).

    EM may be overloaded; try again later, or raise VEEAM_EM_TIMEOUT.
    """


class DeadlineExceeded(RequestTimedOut):
    """Raised when a tool call's deadline passes (``EnterpriseManagerClient.deadline``): by default
    VEEAM_EM_TIMEOUT × (VEEAM_EM_RETRIES + 1) + the retry back-off, covering the wait for a connection slot,
    a logon, every request of the call and the pauses between retries.

    The message says what was slow: the wait for a slot (how many requests were in flight and queued), EM not
    answering a named request, or the logon. Try again later; ``check_connection`` shows whether EM answers.
    ``waiting_for`` is one of ``slot``, ``em``, ``backoff``, ``logon``, ``logon-wait``, ``work``.
    """

    def __init__(self, message: str, *, budget: float, waiting_for: str) -> None:
        self.budget = budget
        self.waiting_for = waiting_for
        super().__init__(message)


class LogonRejected(VeeamEmError):
    """Enterprise Manager rejected the logon (401 or 403). An EM account is a Windows (Active Directory)
    account, so every rejected logon counts towards its lockout threshold: the client then tries no logon for a
    back-off period (30 s, then 5 min, then 15 min each time) and every call in it fails at once with this error.

    What to do: what the message says (fix the credentials or the EM role). A changed VEEAM_EM_PASSWORD_FILE
    is tried at once; ``check_connection`` may try once sooner. ``retry_in`` is the seconds until the next
    logon may be tried, ``failed_logons`` the rejected logons in a row, ``attempted`` whether this very call
    sent the logon (False: it was refused by the back-off, nothing was sent), ``backoff`` the sentence about it.
    """

    retry_in: float = 0.0
    failed_logons: int = 0
    attempted: bool = True
    backoff: str = ""


class AuthenticationFailed(LogonRejected):
    """Raised when EM answers the logon with 401: a wrong password, an unknown or disabled account or a
    user-name format EM does not accept (EM does not say which). Logons back off (see ``LogonRejected``).

    Check VEEAM_EM_USERNAME (DOMAIN\\user or user@domain) and VEEAM_EM_PASSWORD / VEEAM_EM_PASSWORD_FILE.
    """


class NotEnterpriseManager(VeeamEmError):
    """Raised when the URL answers, but not like EM's REST API (an HTML page, a logon without a token, the
    VBR REST API on 9419). Point VEEAM_EM_URL at https://<em-server>:9398.
    """


class ApiError(VeeamEmError):
    """Enterprise Manager answered with an HTTP error status; ``em_message`` is EM's own text, if any."""

    def __init__(self, status: int, message: str, em_message: str | None = None) -> None:
        self.status = status
        self.em_message = em_message
        super().__init__(message)


class BadRequest(ApiError):
    """Raised when EM answers 400: EM found the request malformed (e.g. a filter it does not accept)."""


class SessionRejected(ApiError):
    """Raised when EM rejects a session it has just created (401 after a fresh logon): the account may have
    lost its role, or EM is restarting. Check the account, then try again.
    """


class AccessDenied(ApiError):
    """Raised when EM answers 403: the account's EM role or restore scope does not cover the resource.

    Give the account Portal Administrator, Portal User or Restore Operator with a fitting scope.
    """


class RoleMissing(AccessDenied, LogonRejected):
    """Raised when EM answers the logon with 403: the credentials are right but the account has no EM role.
    Logons back off (see ``LogonRejected``); an ``AccessDenied`` too, so handlers of 403 still see it.

    Give the account Portal Administrator, Portal User or Restore Operator (EM: Configuration > Roles).
    """


class NotFound(ApiError):
    """Raised when EM answers 404: the resource does not exist (deleted, or removed by retention).

    The message names what was asked for; the layer that knows what it was asking for words it.
    """


class ServerError(ApiError):
    """Raised when EM answers 5xx (after the GET retries for 502/503/504): EM is failing or restarting.

    Try again in a minute; check the EM server if it persists.
    """


class ResponseError(VeeamEmError):
    """Enterprise Manager's answer, or this server's own, could not be used."""


class MalformedResponse(ResponseError):
    """Raised when EM's body cannot be read: invalid UTF-8, malformed XML/JSON, a DTD or entities (refused),
    or a document that is not the resource asked for. Nothing was guessed from it.
    """


class HtmlInsteadOfApi(MalformedResponse):
    """Raised by the representation layer when a body is an HTML page (a web UI, a proxy's sign-in page).

    The client turns it into ``NotEnterpriseManager``, which says which URL to fix.
    """

    def __init__(self) -> None:
        super().__init__("the server answered with an HTML page, not an EM resource")


class ResponseTooLarge(ResponseError):
    """Raised when EM's answer exceeds VEEAM_EM_MAX_RESPONSE_BYTES; reading stopped at the cap. Ask for less
    (a narrower filter, a smaller page) or raise the cap. (A compressed answer, which could expand past the cap,
    is refused as ``MalformedResponse``: the client never asks for one.)
    """


class ResultTooLarge(ResponseError):
    """Raised when a tool's own answer would exceed VEEAM_MCP_MAX_RESULT_CHARS and cannot be cut without
    losing part of one resource. Nothing is returned; raise the limit or ask for less.
    """


class SnapshotUnavailable(ResponseError):
    """Raised when the answer a cursor belongs to can no longer be read: it expired, this server restarted,
    another replica answered without a shared snapshot store (``VEEAM_MCP_SNAPSHOT_STORE``), or that store
    failed. Nothing is mixed from two readings of EM: call the tool again without the cursor to start again.
    """
