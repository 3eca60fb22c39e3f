"""Configuration from the environment (what Claude Desktop's ``env`` block sets).

Everything is read once at start and validated there, so that a wrong value stops the server
with one line naming the variable instead of surfacing later as a confusing tool error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from .errors import ConfigurationError

Format = Literal["xml", "json"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Secret:
    """A string that never shows itself in ``repr``/``str``/logs; ``reveal()`` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Validated settings; ``base_url`` is the EM origin plus ``/api`` (no trailing slash)."""

    base_url: str
    username: str
    password: Secret = field(repr=False)
    format: Format = "xml"
    verify_tls: bool = True
    ca_bundle: Path | None = None
    tls_fingerprint: str | None = None
    timeout: float = 30.0
    retries: int = 3
    max_response_bytes: int = 16 * 1024 * 1024
    max_concurrency: int = 8
    max_result_chars: int = 20000
    enabled_tools: frozenset[str] | None = None
    demo: bool = False

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def insecure_http(self) -> bool:
        return self.base_url.startswith("http://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        base_url = normalise_base_url(_required(env, "VEEAM_EM_URL"))
        username = _required(env, "VEEAM_EM_USERNAME")
        password = _password(env)
        fmt = env.get("VEEAM_EM_FORMAT", "xml").strip().lower() or "xml"
        if fmt not in ("xml", "json"):
            raise ConfigurationError("VEEAM_EM_FORMAT", f"must be 'xml' or 'json', not {fmt!r}")
        ca_bundle: Path | None = None
        if raw_ca := env.get("VEEAM_EM_CA_BUNDLE", "").strip():
            ca_bundle = Path(raw_ca).expanduser()
            if not ca_bundle.is_file():
                raise ConfigurationError("VEEAM_EM_CA_BUNDLE", f"no such file: {raw_ca}")
        fingerprint = _fingerprint(env.get("VEEAM_EM_TLS_FINGERPRINT", ""))
        tools = env.get("VEEAM_MCP_TOOLS", "").strip()
        return cls(
            base_url=base_url,
            username=username,
            password=password,
            format=fmt,  # type: ignore[arg-type]  # narrowed by the check above
            verify_tls=_bool(env, "VEEAM_EM_VERIFY_TLS", True),
            ca_bundle=ca_bundle,
            tls_fingerprint=fingerprint,
            timeout=_number(env, "VEEAM_EM_TIMEOUT", 30.0, minimum=0.1, maximum=3600),
            retries=int(_number(env, "VEEAM_EM_RETRIES", 3, minimum=1, maximum=10, integer=True)),
            max_response_bytes=int(
                _number(env, "VEEAM_EM_MAX_RESPONSE_BYTES", 16 * 1024 * 1024, minimum=1024, integer=True)
            ),
            max_concurrency=int(_number(env, "VEEAM_EM_MAX_CONCURRENCY", 8, minimum=1, maximum=256, integer=True)),
            max_result_chars=int(_number(env, "VEEAM_MCP_MAX_RESULT_CHARS", 20000, minimum=2000, integer=True)),
            enabled_tools=frozenset(t.strip() for t in tools.split(",") if t.strip()) if tools else None,
        )


def normalise_base_url(raw: str) -> str:
    """Accept ``https://em:9398``, ``https://em:9398/``, ``…/api`` and ``…/api/``; return ``…/api``."""
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError("VEEAM_EM_URL", f"must look like https://em.example.local:9398, not {raw!r}")
    if parts.username or parts.password:
        raise ConfigurationError(
            "VEEAM_EM_URL", "must not contain credentials; use VEEAM_EM_USERNAME and VEEAM_EM_PASSWORD"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("VEEAM_EM_URL", "must not contain a query or fragment")
    path = parts.path.rstrip("/")
    if path not in ("", "/api"):
        raise ConfigurationError(
            "VEEAM_EM_URL", f"unexpected path {parts.path!r}; give the server root, e.g. https://em:9398"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError("VEEAM_EM_URL", f"invalid port in {raw!r}") from exc
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}/api"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(name, "is not set")
    return value


def _password(env: Mapping[str, str]) -> Secret:
    if file_name := env.get("VEEAM_EM_PASSWORD_FILE", "").strip():
        try:
            text = Path(file_name).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError("VEEAM_EM_PASSWORD_FILE", f"cannot read it ({exc.strerror})") from None
        value = text.rstrip("\r\n")
        if not value:
            raise ConfigurationError("VEEAM_EM_PASSWORD_FILE", "the file is empty")
        return Secret(value)
    value = env.get("VEEAM_EM_PASSWORD", "")
    if not value:
        raise ConfigurationError("VEEAM_EM_PASSWORD", "is not set (or set VEEAM_EM_PASSWORD_FILE)")
    return Secret(value)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(name, f"must be true or false, not {raw!r}")


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float,
    maximum: float | None = None,
    integer: bool = False,
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(int(raw)) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigurationError(name, f"must be {kind}, not {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum:g}" if maximum is not None else ""
        raise ConfigurationError(name, f"must be at least {minimum:g}{upper}, not {raw}")
    return value


def _fingerprint(raw: str) -> str | None:
    text = raw.strip().lower().replace(":", "").replace(" ", "")
    if text.startswith("sha256/") or text.startswith("sha256="):
        text = text[7:]
    if not text:
        return None
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ConfigurationError(
            "VEEAM_EM_TLS_FINGERPRINT", "must be the SHA-256 of the certificate: 64 hex digits (colons allowed)"
        )
    return text
