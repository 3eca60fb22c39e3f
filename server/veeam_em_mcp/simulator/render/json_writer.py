"""The JSON writer: attributes and child elements flattened into sibling keys, `Links` a bare array, keys
fields-first for entities and `Links, UID, Name, Href, Type` for references, in the dialect's rule for absent
values (9.5 leaves them out, 12 and 13 write null) and keys (13: .NET camelCase; enum and link values stay
PascalCase).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from .resource import ABSENT, NIL, Alias, Dual, Embedded, Items, Key, Link, Marker, Node, Resource, Scalar, Value

# The `Entities` keys of a v12/v13 JSON QueryResult, in server order, misspellings included (real EM 12/13
# captures, httpapi_exporter samples: 50 keys).
ENTITIES_KEYS = (
    "Jobs", "FailoverPlans", "Backups", "Replicas", "Repositories", "RestorePoints", "VmRestorePoints",
    "VAppRestorePoints", "VmReplicaPoints", "BackupJobSessions", "ReplicaJobSessions", "ReplicaTaskSessions",
    "RestoreSessions", "HierarchyRoots", "BackupTaskSessions", "BackupServers", "ManagedServers",
    "EnterpiseRoles", "EnterpiseAccounts", "WanAccelerators", "CloudGateways", "CloudTenants", "CloudReplicas",
    "VCloudOrganizationConfigs", "BackupFiles", "VSphereSelfServiceConfigs", "CloudPublicIps",
    "CloudHardwarePlans", "CloudVmReplicaPoints", "AgentRestorePoints", "AgentBackupJob", "CloudGatewayPools",
    "CloudFailoverPlans", "ExternalRepositories", "VlanConfigurations", "CloudFailoverSessions",
    "AgentProtectionGroups", "DiscoveredComputers", "FileServers", "NASJobs", "CdpReplicas", "CdpReplicaVms",
    "CdpPolicies", "CdpReplicaSessions", "CdpReplicaTaskSessions", "VAppReplicaPoints", "VmCdpReplicas",
    "VAppCdpReplicas", "VAppCdpReplicaVms", "SystemSessions",
)


def _json_scalar(value: Scalar) -> Scalar:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@functools.lru_cache(maxsize=1024)
def camel(name: str) -> str:
    """System.Text.Json's camelCase policy: `UID` -> `uid`, `CreationTimeUTC` -> `creationTimeUTC`,
    `NASJobs` -> `nasJobs`, `VAppRestorePoints` -> `vAppRestorePoints`."""
    chars = list(name)
    for i, ch in enumerate(chars):
        if not ch.isupper():
            break
        if i > 0 and i + 1 < len(chars) and not chars[i + 1].isupper():
            # Keep the capital that starts the next word (`URLValue` -> `urlValue`).
            if chars[i + 1] == " ":
                chars[i] = ch.lower()
            break
        chars[i] = ch.lower()
    return "".join(chars)


class JsonWriter:
    """Writes resources as JSON in one dialect: `nulls` (v12/v13 write every key) and `camel_case` (v13)."""

    def __init__(self, *, camel_case: bool, nulls: bool, bom: bool) -> None:
        self.camel_case = camel_case
        self.nulls = nulls
        self.bom = bom

    def document(self, payload: Any) -> bytes:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return b"\xef\xbb\xbf" + data if self.bom else data

    def key(self, name: str) -> str:
        return camel(name) if self.camel_case else name

    def link(self, link: Link) -> dict[str, Any]:
        k = self.key
        d: dict[str, Any] = {k("Rel"): link.rel, k("Href"): link.href}
        if link.name is not None or self.nulls:
            d[k("Name")] = link.name
        if link.type is not None or self.nulls:
            d[k("Type")] = link.type
        return d

    def put(self, d: dict[str, Any], key: Key, value: Value) -> None:
        """Set one JSON field following the dialect's rule for absent values."""
        if value is ABSENT:
            return
        name = self.key(key.json if isinstance(key, Alias) else key)
        if value is None:
            if self.nulls:
                d[name] = None
            return
        d[name] = self.value(value)

    def value(self, value: Value) -> Any:
        if value is NIL or value is None:
            return None
        if isinstance(value, Dual):
            return self.value(value.json)
        if isinstance(value, Node):
            d: dict[str, Any] = {}
            for key, child in value.children:
                self.put(d, key, child)
            for key, attr in value.attrs:
                self.put(d, key, attr)
            return d
        if isinstance(value, Items):
            return [self.value(v) for v in value.values]
        if isinstance(value, Embedded):
            return {self.key(value.json_key): [self.res(r) for r in value.resources]}
        if isinstance(value, Marker):
            return None
        return _json_scalar(value)

    def res(self, res: Resource) -> dict[str, Any]:
        k = self.key
        d: dict[str, Any] = {}
        links = [self.link(x) for x in res.links]
        if res.is_ref:
            d[k("Links")] = links
            if res.uid is not None:
                d[k("UID")] = res.uid
            if res.name is not None:
                d[k("Name")] = res.name
        else:
            for key, value in res.fields:
                self.put(d, key, value)
            for key, attr in res.attrs:
                self.put(d, key, attr)
            if res.vm_display_name is not None:
                d[k("VmDisplayName")] = res.vm_display_name
            if res.name is not None:
                d[k("Name")] = res.name
            if res.uid is not None:
                d[k("UID")] = res.uid
            if res.has_links:
                d[k("Links")] = links
        if res.href is not None:
            d[k("Href")] = res.href
        if res.type is not None:
            d[k("Type")] = res.type
        if res.json_first:
            first = [k(name) for name in res.json_first if k(name) in d]
            d = {**{name: d[name] for name in first}, **{key: v for key, v in d.items() if key not in first}}
        return d
