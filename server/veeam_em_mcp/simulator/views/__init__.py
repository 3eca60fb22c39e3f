"""Entity and reference representations of the simulator's data, with EM's exact link sets.

A reference (`GET /coll/{id}`) carries only navigation links (Up, Alternate -> entity with `?format=Entity`,
and Down/Related lists), an entity (`?format=Entity`) adds action links and fields, and its Alternate points
back to the reference. Real-server quirks are reproduced on purpose: the RestorePoint's `Related` link to
`/backupFiles` is typed `RestorePointReferenceList`, BackupFile spells `CreationTimeUtc`, the job schedule
is under `Standart`, `RetrySpecified` is `RetrySpecified1` in JSON, `IsRetry` comes first in JSON sessions.
An `ObjectInJob` is a resource, not an entity: it has no reference form and no UID/Name attributes.

The coverage types (dataset/coverage/) keep the quirks the reference documents: system sessions' links are typed as
backup job sessions and their `Result` is an object, a DiscoveredComputer entity's own Href is a
`/backupTaskSessions/{id}?format=Entity` URL (its Alternate link is right), the agents service types
`backupFiles` as `RestorePointReferenceList`, a running restore session says `Result` `None` and has no
EndTimeUTC, replica tasks have no VmUid and replica points no HierarchyObjRef, a vCloud organisation config
mixes GB and MB, and a Cloud Connect tenant carries an empty `Password`.

One module per family of resources: common (the context, UIDs, the links every view shares), backups, jobs,
sessions, replicas, agents, msp, documents (service documents, the logon session, the entry document). The
registry's rows (registry/) name the view of each type.
"""
