"""What a filter value must be before it goes into EM's query service: a name bounded and encodable, a
backup server by its id (GUID or UID) or by its name. Shared by every service that filters."""

from __future__ import annotations

import re

from ..errors import InvalidArgument
from ..representation.ids import GUID_PATTERN
from ..representation.query import quote_value

MAX_TEXT = 512  # longest name accepted as a filter value (the tools cap their arguments the same way)
_SERVER_ID = re.compile(rf"^(?:urn:veeam:BackupServer:)?({GUID_PATTERN})\Z", re.IGNORECASE)


def backup_server_condition(backup_server: str) -> str:
    """A filter condition for a backup server given by id (GUID or UID) or by name."""
    match = _SERVER_ID.match(backup_server.strip())
    if match:
        return f"BackupServerUid=={quote_value('urn:veeam:BackupServer:' + match.group(1).lower())}"
    return f"BackupServerName=={quote_value(backup_server)}"


def check_text(name: str, value: str | None) -> None:
    """A name used as a filter value: bounded, and encodable (a lone surrogate cannot go into a URL)."""
    if value is None:
        return
    if not 0 < len(value) <= MAX_TEXT:
        raise InvalidArgument(f"{name} must be 1 to {MAX_TEXT} characters long.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{name} contains text that is not valid Unicode (a lone surrogate).") from None
