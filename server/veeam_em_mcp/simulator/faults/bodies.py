"""The bodies faults answer with: huge reference lists streamed from one reused block (gzipped, a decompression
bomb, if asked), documents nested N levels deep, XML with entity declarations, an HTTP.sys error page, a
proxy's sign-in page.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

_CHUNK_ITEMS = 256


def huge_chunks(fmt: str, size: int) -> Iterator[bytes]:
    """``size`` bytes of a plausible reference list, from one reused block: nothing of that size is allocated."""
    ref = (
        '  <Ref Type="VmRestorePointReference" Href="http://em/api/vmRestorePoints/'
        '00000000-0000-0000-0000-000000000000" Name="filler"/>\n'
    )
    if fmt == "json":
        head = b'{"Refs":['
        block = (
            '{"Type":"VmRestorePointReference","Href":"http://em/api/vmRestorePoints/'
            '00000000-0000-0000-0000-000000000000","Name":"filler"},' * _CHUNK_ITEMS
        ).encode()
    else:
        head = b'<?xml version="1.0" encoding="utf-8"?>\n<EntityReferences xmlns="http://www.veeam.com/ent/v1.0">\n'
        block = (ref * _CHUNK_ITEMS).encode()
    first = head[:size]
    yield first
    left = size - len(first)
    while left > 0:
        yield block if left >= len(block) else block[:left]
        left -= min(left, len(block))


def gzipped(chunks: Iterator[bytes], flush_at: int = 16 * 1024) -> Iterator[bytes]:
    """Compress lazily; the repetitive filler shrinks about a thousandfold, so little goes on the wire."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        out = packer.compress(chunk)
        if out:
            pending.append(out)
            held += len(out)
        if held >= flush_at:
            yield b"".join(pending)
            pending, held = [], 0
    pending.append(packer.flush())
    yield b"".join(pending)


def deep_body(fmt: str, depth: int) -> bytes:
    """A well-formed document nested `depth` levels deep: XML elements (the root is level 1), or JSON objects
    and arrays alternating (`{"Entities":[{"Entities":[...]}]}`, every container a level)."""
    if fmt == "json":
        pairs, odd = divmod(depth - 1, 2)
        opens = '{"Entities":[' * pairs + ('{"Entities":' if odd else "")
        inner = "[]" if odd else "{}"
        closes = ("}" if odd else "") + "]}" * pairs
        return (opens + inner + closes).encode()
    head = '<?xml version="1.0" encoding="utf-8"?>\n<QueryResult xmlns="http://www.veeam.com/ent/v1.0">'
    return (head + "<Entities>" * (depth - 1) + "</Entities>" * (depth - 1) + "</QueryResult>").encode()


_POINT = (
    '<VmRestorePoint Type="VmRestorePoint" Href="http://em/api/vmRestorePoints/'
    '6c958531-3177-4055-b0ce-dc4ef1ce6433?format=Entity" Name="sql01@2026-11-20 06:00:00" '
    'UID="urn:veeam:VmRestorePoint:6c958531-3177-4055-b0ce-dc4ef1ce6433" xmlns="http://www.veeam.com/ent/v1.0">'
    "<CreationTimeUTC>2026-11-20T06:00:00Z</CreationTimeUTC><VmName>{name}</VmName>"
    "<Algorithm>Full</Algorithm><PointType>Full</PointType></VmRestorePoint>\n"
)


def entity_body(variant: str, url: str) -> bytes:
    """A VmRestorePoint whose VmName is an entity: expanding or fetching it is the attack."""
    decl = '<?xml version="1.0" encoding="utf-8"?>\n'
    if variant == "external":
        dtd = f'<!DOCTYPE VmRestorePoint [<!ENTITY xxe SYSTEM "{url}">]>\n'
        return (decl + dtd + _POINT.format(name="&xxe;")).encode()
    if variant == "parameter":
        dtd = f'<!DOCTYPE VmRestorePoint [<!ENTITY % remote SYSTEM "{url}"> %remote;]>\n'
        return (decl + dtd + _POINT.format(name="sql01")).encode()
    laughs = ['<!ENTITY lol0 "lol">']
    laughs += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    dtd = "<!DOCTYPE VmRestorePoint [" + "".join(laughs) + "]>\n"
    # "late": comments may precede the DTD; 8 KB of them defeats any check of only the first few KB.
    padding = "<!--" + "x" * 8192 + "-->\n" if variant == "late" else ""
    return (decl + padding + dtd + _POINT.format(name="&lol9;")).encode()


LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form method=\"post\" action=\"/login\">"
    b"<input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n"
)


def http_sys_page(status: int) -> bytes:
    title = {503: "Service Unavailable", 500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout"}
    text = title.get(status, "Error")
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
        f"<HTML><HEAD><TITLE>{text}</TITLE>\r\n"
        '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
        f"<BODY><h2>{text}</h2>\r\n<hr><p>HTTP Error {status}. The service is unavailable.</p>\r\n</BODY></HTML>\r\n"
    ).encode()
