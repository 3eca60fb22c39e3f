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
]
