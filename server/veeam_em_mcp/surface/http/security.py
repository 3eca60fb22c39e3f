"""Host and Origin allow-lists (the SDK's DNS-rebinding protection): loopback names always, the bound
address, and the names configured in ``VEEAM_MCP_HTTP_ALLOWED_HOSTS`` / ``…_ORIGINS``."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from mcp.server.transport_security import TransportSecuritySettings

ALLOWED_HOSTS_ENV = "VEEAM_MCP_HTTP_ALLOWED_HOSTS"
ALLOWED_ORIGINS_ENV = "VEEAM_MCP_HTTP_ALLOWED_ORIGINS"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in ("0.0.0.0", "::", "")  # noqa: S104  # recognised, not bound


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def transport_security(
    host: str, port: int, extra_hosts: Sequence[str] = (), extra_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """Host/Origin allow-lists: loopback names always, the bound address, and configured extras.

    Loopback names pass with or without a port (a local reverse proxy on 80/443 sends ``Host:
    localhost``), and over http or https; anything else must be listed.
    """
    hosts = [name for loopback in _LOOPBACK_NAMES for name in (loopback, f"{loopback}:*")]
    origins = [
        origin
        for loopback in _LOOPBACK_NAMES
        for scheme in ("http", "https")
        for origin in (f"{scheme}://{loopback}", f"{scheme}://{loopback}:*")
    ]
    if not is_loopback(host) and not _is_wildcard(host):
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
        hosts += [bracketed, f"{bracketed}:{port}"]
        origins += [f"http://{bracketed}:{port}", f"https://{bracketed}:{port}"]
    hosts += list(extra_hosts)
    origins += list(extra_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
