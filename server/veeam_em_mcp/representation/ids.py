"""EM's identifiers: GUIDs, ``urn:veeam:<Type>:<GUID>`` UIDs, and the GUID inside an href.

One definition of a GUID for the package: ``\\Z`` rather than ``$``, because ``$`` also matches before a
trailing newline, which would let ``"<GUID>\\n"`` pass as a GUID.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

GUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID = re.compile(rf"^{GUID_PATTERN}\Z")
_ANY_GUID = re.compile(GUID_PATTERN)
# A VM's reference in the virtual infrastructure: urn:VMware:Vm:<root>.vm-42, urn:HyperV:Vm:…, urn:vCloud:Vm:…
_VM_REF = re.compile(r"^urn:[A-Za-z]+:Vm:\S+\Z", re.IGNORECASE)


def is_vm_ref(text: str | None) -> bool:
    """Whether ``text`` is a VM's reference (HierarchyObjRef / VmUid) rather than a VM's name."""
    return bool(text and _VM_REF.match(text.strip()))


def is_guid(text: str) -> bool:
    return GUID.match(text) is not None


def uid_pattern(em_type: str) -> re.Pattern[str]:
    """``urn:veeam:<em_type>:<GUID>`` (case-insensitive), the GUID captured."""
    return re.compile(rf"^urn:veeam:{re.escape(em_type)}:({GUID_PATTERN})\Z", re.IGNORECASE)


def guid_from(uid: str | None, href: str | None) -> str | None:
    """The resource's GUID, lower-case: from its UID when it has one, else the last GUID of its href's path."""
    if uid:
        match = _ANY_GUID.search(uid.rsplit(":", 1)[-1])
        if match:
            return match.group(0).lower()
    if href:
        found = _ANY_GUID.findall(urlsplit(href).path)
        if found:
            return str(found[-1]).lower()
    return None
