"""Fault injection for the EM simulator: the ways a real Enterprise Manager, or what sits in front of it, misbehaves.

Real EM servers are slow at times, restart (HTTP.sys answers 503 while the service comes back), sit behind
proxies that show a sign-in page or cut connections, expire sessions, and could in principle send hostile XML.
The client's hardening (retries, timeouts, size cap, entity refusal, re-logon) is only worth something if it is
exercised against those behaviours on a real socket, so each one can be switched on here:

- per test, at runtime: ``app.state.sim.faults.set("status=503:3,method=GET")`` (returns the ``Fault`` objects,
  whose ``fired`` counters say whether the fault was really hit);
- from the command line: ``python -m veeam_em_mcp.simulator --fault latency=2.0 --fault status=503:3``.

Spec grammar (``parse_fault``): ``KIND[=VALUE][:COUNT][,key=value...]`` with keys ``count``, ``after`` (let this
many matching requests through first), ``method``, ``path`` (case-insensitive prefix of the request path),
``variant`` (``status``: ``em`` or ``html``; ``malformed``: ``cut`` or ``binary``; ``entities``: see below),
``url`` (system identifier of ``entities=external|parameter``), ``length`` (``huge`` only: ``declared`` sends a
Content-Length up front), ``encoding`` (``huge`` only: ``gzip`` sends it compressed, a decompression bomb) and
``type`` (the query faults below). Without a count a fault applies to every matching request until cleared.

Faults that make multi-page reads unreliable apply to ``GET /api/query`` (their default method and path):

- ``short-page[=N]``: a page that is not the last one (PageNum < PagesCount) holds N fewer items (default 300,
  so a default-size page comes back empty); PagingInfo is unchanged. Only such pages count as matching.
- ``pages-drift[=K]``: PagingInfo reports PagesCount + K (K may be negative; never below 1; default 1), and the
  Next/Last links follow that count; the items are unchanged.
- ``mutate=insert|remove|append`` (default ``insert``, default count 1): just before the matching request is
  answered, the dataset changes once: ``insert`` adds a copy of the item in the middle of the type's items sorted
  by creation time (new id, a creation time strictly between its neighbours; a task-session copy is linked to the
  copied one's job session), ``remove`` deletes the middle item (with what cannot exist without it), ``append``
  adds a copy of the newest item 5 s after it (a running job's new session or task). The type
  is ``type=`` or else the request's query type; VmRestorePoint, RestorePoint, BackupFile, BackupJobSession and
  BackupTaskSession can change (a request of another type does not match). The query service's cached tables
  are rebuilt, so every later query and entity GET sees the change; ``Fault.changed`` lists the ids.
- ``deep[=N]``: a 200 whose body is a document nested N levels deep (default 10000): XML elements, or JSON
  objects and arrays alternating when the request's Accept has application/json (parsers' recursion limits).

``type=T`` restricts ``short-page``, ``pages-drift`` and ``deep`` to queries of type T; for ``mutate`` it names
the type to change; any other fault but ``slow-logon`` it limits to the queries of type T (a
fault counted for one read even when a client reads several types side by side). ``short-page`` and
``pages-drift`` are taken by the query handler (``FaultSet.take_page``, which knows whether a page is the last),
the others by the middleware.

Faults that break the HTTP framing (``drop``, ``truncate``) and ``huge`` need a real socket: run them through
``RunningSimulator``. httpx's in-process ASGITransport neither reports a short body as an error nor streams (it
would buffer the whole huge body in memory).

The package: spec.py (the kinds, `Fault`, `parse_fault`), fault_set.py (the active faults, `FaultSet`),
middleware.py (`FaultInjector`, the ASGI middleware), bodies.py (the hostile and huge bodies).
"""
