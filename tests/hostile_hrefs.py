"""Hrefs that follow_link must refuse, for a server configured at http://em.test:9398.

Shared by the policy unit test and the end-to-end test that checks no request reaches any server.
"""

GUID = "6c958531-3177-4055-b0ce-dc4ef1ce6433"
OK = f"http://em.test:9398/api/vmRestorePoints/{GUID}"

HOSTILE_HREFS: list[str] = [
    # other hosts, ports and host spellings
    f"http://evil.example/api/vmRestorePoints/{GUID}",
    f"http://em.test.evil.example:9398/api/vmRestorePoints/{GUID}",
    f"http://em.test:9399/api/vmRestorePoints/{GUID}",
    f"http://em.test:80/api/vmRestorePoints/{GUID}",
    f"http://em.test/api/vmRestorePoints/{GUID}",
    f"http://127.0.0.1:9398/api/vmRestorePoints/{GUID}",
    f"http://localhost:9398/api/vmRestorePoints/{GUID}",
    f"http://[::1]:9398/api/vmRestorePoints/{GUID}",
    "http://169.254.169.254/latest/meta-data/",
    f"//evil.example/api/vmRestorePoints/{GUID}",
    # other schemes
    f"https://em.test:9398/api/vmRestorePoints/{GUID}",
    "file:///etc/passwd",
    "ftp://em.test:9398/api/",
    "javascript:alert(1)",
    "gopher://em.test:9398/_GET%20/api/",
    # user information
    f"http://user:pass@em.test:9398/api/vmRestorePoints/{GUID}",
    f"http://em.test:9398@evil.example/api/vmRestorePoints/{GUID}",
    f"http://evil.example@em.test:9398/api/vmRestorePoints/{GUID}",
    # traversal in every encoding
    "http://em.test:9398/api/../web/",
    "http://em.test:9398/api/vmRestorePoints/../../web/",
    "http://em.test:9398/api/%2e%2e/web/",
    "http://em.test:9398/api/%2E%2E/web/",
    "http://em.test:9398/api/.%2e/web/",
    "http://em.test:9398/api/%252e%252e/web/",
    "http://em.test:9398/api/vmRestorePoints%2f..%2f..%2fweb",
    "http://em.test:9398/api/vmRestorePoints%5c..%5cweb",
    "http://em.test:9398/api/./vmRestorePoints/",
    "http://em.test:9398/api\\..\\web",
    "http://em.test:9398\\api\\vmRestorePoints",
    "http://em.test:9398/web/#/api/",
    "http://em.test:9398/apix/vmRestorePoints",
    "http://em.test:9398/",
    "http://em.test:9398/api",
    "http://em.test:9398//api/vmRestorePoints",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}%00",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}#frag",
    # action links (they start operations: restore, mount, job start…)
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?action=restore",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?ACTION=Restore",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?format=Entity&action=restore",
    "http://em.test:9398/api/backupServers/a490c017-2c1c-40ee-8bcf-73bcce6ab36f?action=collect",
    "http://em.test:9398/api/jobs/2851cb88-37b6-46ea-b2c8-47b55270169d?action=start",
    # stored credentials, password keys and security settings: read-only, but never this server's business
    "http://em.test:9398/api/backupServers/a490c017-2c1c-40ee-8bcf-73bcce6ab36f/credentials",
    "http://em.test:9398/api/backupServers/a490c017-2c1c-40ee-8bcf-73bcce6ab36f/passwords",
    "http://em.test:9398/api/security",
    # session management is ours alone
    "http://em.test:9398/api/logonSessions",
    "http://em.test:9398/api/sessionMngr/?v=latest",
    # whitespace, control and invisible characters
    f"http://em.test:9398/api/vmRestorePoints/\t{GUID}",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}\r\nX-Injected: 1",
    f"http://em.test:9398/api/vmRestorePoints/\u202e{GUID}",
    "",
    "   ",
    "http://em.test:9398/api/" + "a" * 3000,
    # IPv6 literals and other spellings of a host (never the configured one, even when they may resolve to it)
    f"http://[::ffff:127.0.0.1]:9398/api/vmRestorePoints/{GUID}",
    f"http://[0:0:0:0:0:0:0:1]:9398/api/vmRestorePoints/{GUID}",
    f"http://[::1%25eth0]:9398/api/vmRestorePoints/{GUID}",
    f"http://[em.test]:9398/api/vmRestorePoints/{GUID}",
    f"http://2130706433:9398/api/vmRestorePoints/{GUID}",
    f"http://0x7f.1:9398/api/vmRestorePoints/{GUID}",
    f"http://EM.TEST.:9398/api/vmRestorePoints/{GUID}",
    # IDNA and unicode look-alikes of em.test: Cyrillic "е", fullwidth letters, an ideographic full stop
    f"http://\u0435m.test:9398/api/vmRestorePoints/{GUID}",
    f"http://xn--m-0tb.test:9398/api/vmRestorePoints/{GUID}",
    f"http://\uff45\uff4d.test:9398/api/vmRestorePoints/{GUID}",
    f"http://em.test\u3002:9398/api/vmRestorePoints/{GUID}",
    # malformed authorities and scheme tricks
    f"http://em.test:+9398/api/vmRestorePoints/{GUID}",
    f"http://em.test:9398:80/api/vmRestorePoints/{GUID}",
    f"HTTPS://em.test:9398/api/vmRestorePoints/{GUID}",
    f"http:/em.test:9398/api/vmRestorePoints/{GUID}",
    f"http:em.test:9398/api/vmRestorePoints/{GUID}",
    f"http:///em.test:9398/api/vmRestorePoints/{GUID}",
    "data:text/xml,<EntityReferences/>",
    # action links in disguise: encoded, double-encoded, NUL-suffixed, bracketed, after a ';' separator
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?%61ction=restore",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?%2561ction=restore",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?action%00=restore",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?action[]=restore",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?;action=restore",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}?format=Entity;action=restore",
    # traversal: overlong UTF-8 dots, triple encoding, Tomcat-style "..;", encoded slash before a dot segment
    "http://em.test:9398/api/%c0%ae%c0%ae/web/",
    "http://em.test:9398/api/%25252e%25252e/web/",
    "http://em.test:9398/api/vmRestorePoints/..;/..;/web",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}/%2e",
    "http://em.test:9398/api/sessionMngr%2f",
    # control characters, raw and percent-encoded (tab, CR LF header injection, newline after a GUID)
    f"http://em.test\t:9398/api/vmRestorePoints/{GUID}",
    f"http://em.test:9398/api/vmRestorePoints/%09{GUID}",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}%0d%0aX-Injected:%201",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}%0a",
    f"http://em.test:9398/api/vmRestorePoints/{GUID}\ufeff",
]


def hostile_hrefs_for(em_origin: str, other_port: int) -> list[str]:
    """The battery aimed at live servers: the EM simulator at ``em_origin`` and another one on ``other_port``.

    Every href that named the EM origin now names the live one (so a request that slipped through would show
    in its request log), and aliases of loopback name the other server (whose log must stay empty).
    """
    em = em_origin.split("//", 1)[1]
    other = f"127.0.0.1:{other_port}"
    aimed = [href.replace("http://em.test:9398", em_origin) for href in HOSTILE_HREFS]
    aimed += [
        f"http://{other}/api/vmRestorePoints/{GUID}",
        f"http://localhost:{other_port}/api/vmRestorePoints/{GUID}",
        f"http://127.1:{other_port}/api/vmRestorePoints/{GUID}",
        f"http://2130706433:{other_port}/api/vmRestorePoints/{GUID}",
        f"http://[::ffff:127.0.0.1]:{other_port}/api/vmRestorePoints/{GUID}",
        f"//{other}/api/vmRestorePoints/{GUID}",
        f"HTTP://{other}/api/vmRestorePoints/{GUID}",
        f"http://{em}@{other}/api/vmRestorePoints/{GUID}",
        f"http://{other}#@{em}/api/vmRestorePoints/{GUID}",
        f"http://{other}?@{em}/api/vmRestorePoints/{GUID}",
        f"http://{other}\\@{em}/api/vmRestorePoints/{GUID}",
        f"http://{other}/api/sessionMngr/?v=latest",
        f"http://localhost:{em.rsplit(':', 1)[1]}/api/vmRestorePoints/{GUID}",
        f"{em_origin}.nip.io/api/vmRestorePoints/{GUID}",
    ]
    return aimed
