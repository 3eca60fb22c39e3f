"""How the connection to Enterprise Manager is made: TLS trust (a CA bundle, or a pinned fingerprint), the
proxy httpx picks from the environment, and no cookies."""

from __future__ import annotations

import functools
import hashlib
import ssl
from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

from ..config import Settings


class NoCookies(CookieJar):
    """EM prefers its cookie over the header; keeping none makes the header the only truth."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def _pinned_context(fingerprint: str) -> ssl.SSLContext:
    """Trust exactly the certificate whose SHA-256 is ``fingerprint`` (EM's usual self-signed one).

    The check runs inside the TLS handshake, before any byte of the request (and so before the
    credentials) is sent.
    """

    class _PinnedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            der = self.getpeercert(binary_form=True)
            seen = hashlib.sha256(der).hexdigest() if der else "none"
            if seen != fingerprint:
                raise ssl.SSLCertVerificationError(
                    1, f"certificate fingerprint mismatch (server presented sha256 {seen})"
                )

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.sslobject_class = _PinnedSSLObject
    return context


def environment_proxy(url: str) -> str | None:
    """The proxy httpx sends requests for ``url`` through (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY), or None.

    httpx reads those variables itself (``trust_env``); this asks its own rules, in its own order, so that
    ``doctor`` reports the proxy the tools really use. Credentials in the proxy URL are masked.
    """
    from httpx._utils import URLPattern, get_environment_proxies  # httpx's own matching, not a copy of it

    target = httpx.URL(url)
    patterns = sorted(((URLPattern(key), proxy) for key, proxy in get_environment_proxies().items()), key=_first)
    proxy = next((proxy for pattern, proxy in patterns if pattern.matches(target)), None)
    if not proxy:
        return None
    parts = httpx.URL(proxy if "://" in proxy else f"http://{proxy}")
    return str(parts.copy_with(username=None, password=None)) + (" (credentials masked)" if parts.userinfo else "")


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def tls_verify_setting(settings: Settings) -> ssl.SSLContext | bool:
    """What httpx verifies EM's certificate with: a pinned fingerprint, a CA bundle, the system's store, or nothing.

    A context is built once per trust setting and shared by every client of the process: loading a CA store costs
    ~20 ms of CPU, which every new client (one per MCP session over HTTP) paid again. A CA bundle is keyed by its
    file's size and modification time, so a replaced bundle is read anew.
    """
    if settings.tls_fingerprint:
        return _shared_context(settings.tls_fingerprint, None)
    if not settings.verify_tls:
        return False
    bundle = None
    if settings.ca_bundle is not None:
        stat = settings.ca_bundle.stat()
        bundle = (str(settings.ca_bundle), stat.st_size, stat.st_mtime_ns)
    return _shared_context(None, bundle)


@functools.lru_cache(maxsize=16)
def _shared_context(fingerprint: str | None, bundle: tuple[str, int, int] | None) -> ssl.SSLContext:
    if fingerprint:
        return _pinned_context(fingerprint)
    context = ssl.create_default_context()
    if bundle is not None:
        context.load_verify_locations(cafile=bundle[0])
    return context
