"""Every failure veeam-em-mcp can report, in one place.

Each error's message is written for the person (or model) who has to act on it: it says what
went wrong *and* what to do next. The tool layer hands these messages to the model verbatim
(as MCP ``ToolError``), so they must never contain a password or a session token.

Hierarchy::

    VeeamEmError
    ├── ConfigurationError ........... a VEEAM_EM_* variable is missing or invalid
    ├── RequestRefused ............... refused here, before any request reached EM
    │   ├── InvalidIdentifier ........ not a restore point GUID, UID or href
    │   ├── InvalidArgument .......... a tool argument is out of range or malformed
    │   └── LinkRefused .............. href off the EM origin, traversal, or an action link
    ├── TransportError ............... EM could not be reached or did not answer in time
    │   ├── EnterpriseManagerUnreachable
    │   ├── TlsVerificationFailed .... certificate not trusted (CA bundle / fingerprint)
    │   └── RequestTimedOut
    ├── AuthenticationFailed ......... EM rejected the credentials (401 at logon)
    ├── NotEnterpriseManager ......... the URL answers, but it is not the EM REST API
    ├── ApiError ..................... EM answered with an error status
    │   ├── BadRequest (400)
    │   ├── SessionRejected (401 after a fresh logon)
    │   ├── AccessDenied (403)
    │   ├── NotFound (404)
    │   └── ServerError (5xx)
    └── ResponseError ................ EM's answer could not be used
        ├── MalformedResponse
        └── ResponseTooLarge
"""

from __future__ import annotations

import re


class VeeamEmError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(VeeamEmError):
    """The server cannot start because of its configuration."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


class RequestRefused(VeeamEmError):
    """Refused before any request was sent to Enterprise Manager."""


class InvalidIdentifier(RequestRefused):
    def __init__(self, value: str, expected: str) -> None:
        self.value = value
        super().__init__(
            f"{value!r} is not a valid identifier: expected {expected}. "
            "Nothing was sent to Enterprise Manager; correct the id and call again."
        )


class InvalidArgument(RequestRefused):
    pass


def redact_userinfo(href: str) -> str:
    """Hide ``user:password@`` in a URL before it is repeated in a message or a log."""
    return _USERINFO.sub(r"\1***@", href)


_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:/*)[^/?#]*@")


class LinkRefused(RequestRefused):
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
    pass


class TlsVerificationFailed(TransportError):
    pass


class RequestTimedOut(TransportError):
    pass


class AuthenticationFailed(VeeamEmError):
    pass


class NotEnterpriseManager(VeeamEmError):
    pass


class ApiError(VeeamEmError):
    """Enterprise Manager answered with an HTTP error status."""

    def __init__(self, status: int, message: str, em_message: str | None = None) -> None:
        self.status = status
        self.em_message = em_message
        super().__init__(message)


class BadRequest(ApiError):
    pass


class SessionRejected(ApiError):
    pass


class AccessDenied(ApiError):
    pass


class NotFound(ApiError):
    pass


class ServerError(ApiError):
    pass


class ResponseError(VeeamEmError):
    """Enterprise Manager's answer could not be used."""


class MalformedResponse(ResponseError):
    pass


class ResponseTooLarge(ResponseError):
    pass
