"""Configuration from the environment (what Claude Desktop's ``env`` block sets).

Everything is read once at start and validated there, so that a wrong value stops the server
with one line naming the variable instead of surfacing later as a confusing tool error. The one
exception is ``VEEAM_EM_PASSWORD_FILE``: ``PasswordSource`` re-reads it when the file changes, so
that a corrected password is used without a restart (see docs/resilience.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import ConfigurationError

log = logging.getLogger("veeam_em_mcp.config")

Format = Literal["xml", "json"]

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
# The first retry of a GET waits up to this long, each further one twice as long (with jitter below it).
DEFAULT_RETRY_BASE_DELAY = 0.25


def call_deadline(timeout: float, retries: int, retry_base_delay: float = DEFAULT_RETRY_BASE_DELAY) -> float:
    """The default deadline of one tool call: room for a logon and for every attempt of one GET, each at its
    full timeout, plus the longest pauses between the attempts:

    ``VEEAM_EM_TIMEOUT × (VEEAM_EM_RETRIES + 1) + retry_base_delay × (2^(VEEAM_EM_RETRIES − 1) − 1)``

    40.75 s at the defaults (10 s, 3 attempts, 0.25 s), below the 60 s after which common MCP clients give up
    on a request, so the model sees this server's own error (which says what was slow) rather than theirs.
    The wait for a connection slot, the logon and every request of the call all spend this one budget, so a
    call that only meets slow answers fails with EM's own timeout error, and one that queues behind others
    (or reads several pages) is cut at the deadline.
    """
    return float(timeout * (retries + 1) + retry_base_delay * (2 ** (retries - 1) - 1))


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
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    max_response_bytes: int = 16 * 1024 * 1024
    max_concurrency: int = 8
    max_result_chars: int = 20000
    # Items per EM query page when an estate tool reads a whole window (VEEAM_EM_PAGE_SIZE).
    page_size: int = 1000
    # The format whole-window reads ask for (VEEAM_EM_BULK_FORMAT): JSON is ~23% fewer bytes than XML and several
    # times cheaper to parse; an EM that refuses it is read in XML. Single resources keep VEEAM_EM_FORMAT.
    bulk_format: Format = "json"
    # Where answers read over several cursor pages are kept: "" = in this process (memory), or a redis:// URL
    # shared by every replica behind a load balancer (VEEAM_MCP_SNAPSHOT_STORE); kept snapshot_ttl seconds.
    snapshot_store: str = ""
    snapshot_ttl: float = 900.0
    enabled_tools: frozenset[str] | None = None
    demo: bool = False
    # Set when the password came from VEEAM_EM_PASSWORD_FILE: PasswordSource re-reads it when it changes.
    password_file: Path | None = None

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def insecure_http(self) -> bool:
        return self.base_url.startswith("http://")

    @property
    def call_deadline(self) -> float:
        """The default deadline of one tool call (``call_deadline``) at the default retry back-off."""
        return call_deadline(self.timeout, self.retries)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables; an unset or empty variable takes the field's declared default."""
        env = os.environ if env is None else env
        default = _field_defaults(cls)
        base_url = normalise_base_url(_required(env, "VEEAM_EM_URL"))
        username = _required(env, "VEEAM_EM_USERNAME")
        password, password_file = _password(env)
        fmt = env.get("VEEAM_EM_FORMAT", "").strip().lower() or default["format"]
        if fmt not in ("xml", "json"):
            raise ConfigurationError("VEEAM_EM_FORMAT", f"must be 'xml' or 'json', not {fmt!r}")
        bulk = env.get("VEEAM_EM_BULK_FORMAT", "").strip().lower() or default["bulk_format"]
        if bulk not in ("xml", "json"):
            raise ConfigurationError("VEEAM_EM_BULK_FORMAT", f"must be 'xml' or 'json', not {bulk!r}")
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
            verify_tls=_bool(env, "VEEAM_EM_VERIFY_TLS", default["verify_tls"]),
            ca_bundle=ca_bundle,
            tls_fingerprint=fingerprint,
            timeout=_number(env, "VEEAM_EM_TIMEOUT", default["timeout"], minimum=0.1, maximum=3600),
            retries=int(_number(env, "VEEAM_EM_RETRIES", default["retries"], minimum=1, maximum=10, integer=True)),
            max_response_bytes=int(
                _number(env, "VEEAM_EM_MAX_RESPONSE_BYTES", default["max_response_bytes"], minimum=1024, integer=True)
            ),
            max_concurrency=int(
                _number(
                    env, "VEEAM_EM_MAX_CONCURRENCY", default["max_concurrency"], minimum=1, maximum=256, integer=True
                )
            ),
            max_result_chars=int(
                _number(env, "VEEAM_MCP_MAX_RESULT_CHARS", default["max_result_chars"], minimum=2000, integer=True)
            ),
            page_size=int(
                _number(env, "VEEAM_EM_PAGE_SIZE", default["page_size"], minimum=10, maximum=5000, integer=True)
            ),
            bulk_format=bulk,  # type: ignore[arg-type]  # narrowed by the check above
            snapshot_store=_snapshot_store(env.get("VEEAM_MCP_SNAPSHOT_STORE", "")),
            snapshot_ttl=_number(env, "VEEAM_MCP_SNAPSHOT_TTL", default["snapshot_ttl"], minimum=10, maximum=86400),
            enabled_tools=frozenset(t.strip() for t in tools.split(",") if t.strip()) if tools else None,
            password_file=password_file,
        )


def _field_defaults(settings_class: type[Settings]) -> dict[str, Any]:
    """The defaults the ``Settings`` dataclass declares, by field name: the one place each default is written."""
    return {item.name: item.default for item in fields(settings_class) if item.default is not MISSING}


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


def _password(env: Mapping[str, str]) -> tuple[Secret, Path | None]:
    if file_name := env.get("VEEAM_EM_PASSWORD_FILE", "").strip():
        path = Path(file_name).expanduser()
        return read_password_file(path), path
    value = env.get("VEEAM_EM_PASSWORD", "")
    if not value:
        raise ConfigurationError("VEEAM_EM_PASSWORD", "is not set (or set VEEAM_EM_PASSWORD_FILE)")
    return Secret(value), None


def read_password_file(path: Path) -> Secret:
    """The password in ``path`` (its first line, without the line ending); the content is never logged."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError("VEEAM_EM_PASSWORD_FILE", f"cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigurationError("VEEAM_EM_PASSWORD_FILE", "it is not UTF-8 text") from None
    value = text.split("\n", 1)[0].removesuffix("\r")
    if not value:
        raise ConfigurationError("VEEAM_EM_PASSWORD_FILE", "the file is empty")
    return Secret(value)


FileSignature = tuple[int, int, int, int]


def _signature(path: Path) -> FileSignature:
    info = path.stat()
    return (info.st_mtime_ns, info.st_size, info.st_ino, info.st_dev)


class PasswordSource:
    """The password to log on with now: VEEAM_EM_PASSWORD (fixed for the process), or VEEAM_EM_PASSWORD_FILE,
    re-read when the file changes.

    ``current()`` costs one ``stat`` of the file; the file is read again only when its modification time,
    size or inode changed (an editor's save, or an atomic rename by a secrets agent). A file that cannot be
    read, or is empty, keeps the password read before (one warning per change, never the content), so a
    half-finished edit cannot replace a working password with nothing.
    """

    def __init__(self, settings: Settings) -> None:
        self._path = settings.password_file
        self._password = settings.password
        self._signature: FileSignature | None = None
        if self._path is not None:
            try:
                self._signature = _signature(self._path)
            except OSError:
                self._signature = None

    @property
    def from_file(self) -> bool:
        return self._path is not None

    def current(self) -> Secret:
        if self._path is None:
            return self._password
        try:
            signature = _signature(self._path)
        except OSError as exc:
            if self._signature is not None:
                log.warning(
                    "VEEAM_EM_PASSWORD_FILE cannot be read any more (%s); keeping the password read before",
                    exc.strerror,
                )
                self._signature = None
            return self._password
        if signature == self._signature:
            return self._password
        self._signature = signature
        try:
            password = read_password_file(self._path)
        except ConfigurationError as exc:
            log.warning("VEEAM_EM_PASSWORD_FILE changed, but %s; keeping the password read before", exc.problem)
            return self._password
        if password != self._password:
            log.info("VEEAM_EM_PASSWORD_FILE changed: the next logon uses the new password")
            self._password = password
        return self._password


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


def _snapshot_store(raw: str) -> str:
    """"" (this process) or a redis:// / rediss:// / unix:// URL of a Redis or Valkey server."""
    text = raw.strip()
    if text and urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            "VEEAM_MCP_SNAPSHOT_STORE", f"must be a redis://host:port/db URL (Redis or Valkey), not {text!r}"
        )
    return text


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
