"""The Enterprise Manager simulator as a Starlette ASGI app (the other side of the wire for demo and tests).

It implements the subset of the EM REST API the product uses, with real-server behaviour: Basic-auth logon
at `/api/sessionMngr/` returning a token header and cookie, idle session expiry, cookie-over-header token
precedence, reference vs entity representations, XML by default and JSON on `Accept: application/json`,
EM-shaped Error bodies for 400/401/404/405, the query service with paging, and EM's response headers.
Routing is done by hand under one catch-all route so that every miss gets an EM Error body.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import views
from .config import SimulatorConfig
from .dataset import Dataset, build_dataset
from .faults import FaultInjector, FaultSet
from .query import QueryError, QueryService, paging_hrefs, parse_query_params
from .render import Link, Paging, Renderer, Resource
from .views import ViewContext

TOKEN_HEADER = "X-RestSvcSessionId"  # noqa: S105 - a header name, not a secret
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_VERSIONS = ("latest", *views.SUPPORTED_VERSIONS)

# Sent on every response, as captured from EM 12.1 (HTTP.sys); uvicorn's own Server header is disabled.
EM_HEADERS = (
    ("Server", "Microsoft-HTTPAPI/2.0"),
    ("Cache-Control", "private"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-XSS-Protection", "1; mode=block"),
    ("Strict-Transport-Security", "max-age=31536000"),
)

_MULTI_SLASH = re.compile(r"/{2,}")
_GUID_MESSAGE = "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."


@dataclass
class Session:
    session_id: str
    token: str
    user_name: str
    last_used: float


class SimulatorState:
    """Live state of one simulator: sessions, the query service and counters tests can read."""

    def __init__(self, config: SimulatorConfig, dataset: Dataset) -> None:
        self.config = config
        self.dataset = dataset
        self.query = QueryService(dataset)
        self.query.warm()
        camel = config.json_casing == "camel"
        self.xml = Renderer("xml", xml_bom=config.xml_bom)
        self.json = Renderer("json", camel_case=camel, json_bom=config.json_bom)
        # token -> session
        self.sessions: dict[str, Session] = {}
        self.logons = 0
        self.logouts = 0
        self.failed_logons = 0
        self.requests = 0
        self.request_log: list[tuple[str, str]] = []
        # Client (host, port) pairs seen: one per TCP connection, so keep-alive can be checked.
        self.peers: set[tuple[str, int]] = set()
        # Every token handed out, expired or not: secret-scanning tests look for them in outputs and logs.
        self.issued_tokens: list[str] = []
        # Tests read and reset state from another thread while uvicorn serves.
        self.lock = threading.Lock()
        # Injected misbehaviour (latency, 503 bursts, dropped connections, hostile bodies); see faults.py.
        self.faults = FaultSet(config.faults)

    def expire_all_sessions(self) -> None:
        """Drop every session, as if all had idled out (the next request with any token gets 401)."""
        with self.lock:
            self.sessions.clear()

    def active_sessions(self) -> int:
        """Number of sessions that are still valid now."""
        now = self.config.clock()
        with self.lock:
            return sum(1 for s in self.sessions.values() if now - s.last_used <= self.config.idle_timeout)

    def new_session(self, user_name: str) -> Session:
        session_id = str(uuid.uuid4())
        # Real tokens are base64 of the session GUID string (treated as opaque by clients).
        token = base64.b64encode(session_id.encode()).decode()
        session = Session(session_id, token, user_name, self.config.clock())
        with self.lock:
            self.sessions[token] = session
            self.issued_tokens.append(token)
            self.logons += 1
        return session

    def touch(self, token: str) -> Session | None:
        """The live session for `token` (refreshing its idle timer), or None; expired ones are removed."""
        now = self.config.clock()
        with self.lock:
            session = self.sessions.get(token)
            if session is None:
                return None
            if now - session.last_used > self.config.idle_timeout:
                del self.sessions[token]
                return None
            session.last_used = now
            return session

    def end_session(self, session_id: str) -> bool:
        with self.lock:
            tokens = [t for t, s in self.sessions.items() if s.session_id == session_id]
            for t in tokens:
                del self.sessions[t]
            if tokens:
                self.logouts += 1
            return bool(tokens)


class _EmEnvelope:
    """Counts and logs requests and stamps EM's headers on every response (pure ASGI: no buffering)."""

    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        with self.state.lock:
            self.state.requests += 1
            self.state.request_log.append((scope["method"], f"{path}?{query}" if query else path))
            if scope.get("client"):
                self.state.peers.add(tuple(scope["client"]))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EM_HEADERS:
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class _Child:
    """A sub-collection `/coll/{id}/<name>`: its items and how to render one."""

    items: Callable[[Dataset, Any], list[Any]]
    plural: str
    view: Callable[[ViewContext, Any, bool], Resource]


@dataclass(frozen=True)
class _Collection:
    type_name: str
    plural: str
    rows: Callable[[Dataset], dict[str, Any]]
    view: Callable[[ViewContext, Any, bool], Resource]
    children: dict[str, _Child]


def _collections() -> dict[str, _Collection]:
    vrp = _Child(lambda d, o: [d.vm_restore_points[i] for i in o.vm_point_ids], "VmRestorePoints",
                 views.vm_restore_point)
    rps = _Child(lambda d, o: [d.restore_points[i] for i in o.restore_point_ids], "RestorePoints",
                 views.restore_point)
    bfs = _Child(lambda d, o: [d.backup_files[i] for i in o.backup_file_ids], "BackupFiles", views.backup_file)
    colls = [
        _Collection("VmRestorePoint", "VmRestorePoints", lambda d: d.vm_restore_points, views.vm_restore_point,
                    {}),
        _Collection("RestorePoint", "RestorePoints", lambda d: d.restore_points, views.restore_point,
                    {"vmrestorepoints": vrp, "backupfiles": bfs}),
        _Collection("BackupFile", "BackupFiles", lambda d: d.backup_files, views.backup_file,
                    {"vmrestorepoints": vrp, "restorepoints": rps}),
        _Collection("Backup", "Backups", lambda d: d.backups, views.backup,
                    {"restorepoints": rps, "backupfiles": bfs}),
        _Collection("BackupServer", "BackupServers", lambda d: d.backup_servers, views.backup_server, {
            "jobs": _Child(lambda d, o: [d.jobs[i] for i in o.job_ids], "Jobs", views.job),
            "repositories": _Child(lambda d, o: [d.repositories[i] for i in o.repository_ids], "Repositories",
                                   views.repository),
        }),
        _Collection("Job", "Jobs", lambda d: d.jobs, views.job, {}),
        _Collection("Repository", "Repositories", lambda d: d.repositories, views.repository, {}),
    ]
    return {c.plural.lower(): c for c in colls}


_COLLECTIONS = _collections()


def _param(request: Request, name: str) -> str | None:
    """First query parameter named `name`, compared case-insensitively (EM accepts `Format=Entity`)."""
    lname = name.lower()
    for k, v in request.query_params.multi_items():
        if k.lower() == lname:
            return v
    return None


def _want_entity(request: Request) -> bool:
    fmt = _param(request, "format")
    if fmt is None or fmt.lower() in ("reference", "references"):
        return False
    if fmt.lower() in ("entity", "entities"):
        return True
    raise ApiError(400, f"Invalid format '{fmt}'. Use 'Entity'.")


def _guid(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(400, _GUID_MESSAGE) from None


class _Handler:
    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def renderer(self, request: Request) -> Renderer:
        # Any mention of application/json switches the representation (a real-server trait).
        accept = request.headers.get("accept", "")
        return self.state.json if "application/json" in accept.lower() else self.state.xml

    @staticmethod
    def respond(r: Renderer, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        all_headers = {"Content-Type": r.content_type}
        if headers:
            all_headers.update(headers)
        return Response(body, status_code=status, headers=all_headers)

    async def handle(self, request: Request) -> Response:
        r = self.renderer(request)
        try:
            return self.dispatch(request, r)
        except ApiError as exc:
            return self.respond(r, r.error(exc.status, exc.message), exc.status, exc.headers)
        except QueryError as exc:
            return self.respond(r, r.error(400, str(exc)), 400)

    def dispatch(self, request: Request, r: Renderer) -> Response:
        path = _MULTI_SLASH.sub("/", request.url.path)
        if not (path.lower() == "/api" or path.lower().startswith("/api/")):
            raise ApiError(404, "Endpoint not found.")
        segs = [s for s in path[4:].split("/") if s]
        method = request.method
        base = f"{request.url.scheme}://{request.url.netloc}/api"
        if not segs:
            self.only(method, "GET")
            links, versions = views.enterprise_manager_links(base)
            return self.respond(r, r.enterprise_manager(links, versions))
        head = segs[0].lower()
        if head == "sessionmngr" and len(segs) == 1:
            self.only(method, "POST")
            return self.logon(request, r, base)
        session = self.authenticate(request)
        if head == "logonsessions":
            return self.logon_sessions(request, r, base, segs, session)
        if head == "query" and len(segs) == 1:
            self.only(method, "GET")
            return self.query(request, r, base)
        coll = _COLLECTIONS.get(head)
        if coll is None or len(segs) > 3:
            raise ApiError(404, "Endpoint not found.")
        if len(segs) == 3 and segs[2].lower() not in coll.children and not (
            head == "vmrestorepoints" and segs[2].lower() == "mounts"
        ):
            raise ApiError(404, "Endpoint not found.")
        self.only(method, "GET")
        ctx = ViewContext(base, self.state.dataset, self.state.config)
        entity = _want_entity(request)
        rows = coll.rows(self.state.dataset)
        if len(segs) == 1:
            items = [coll.view(ctx, o, entity) for o in rows.values()]
            body = r.entity_list(coll.plural, items) if entity else r.ref_list(items)
            return self.respond(r, body)
        obj_id = _guid(segs[1])
        obj = rows.get(obj_id)
        if obj is None:
            raise ApiError(404, f"{coll.type_name} with id [{obj_id}] was not found.")
        if len(segs) == 2:
            return self.respond(r, r.single(coll.view(ctx, obj, entity)))
        sub = segs[2].lower()
        if sub == "mounts":
            # Mounts live only within a logon session and none are ever created here.
            return self.respond(r, r.entity_list("VmRestorePointMounts", []))
        child = coll.children[sub]
        items = [child.view(ctx, o, entity) for o in child.items(self.state.dataset, obj)]
        body = r.entity_list(child.plural, items) if entity else r.ref_list(items)
        return self.respond(r, body)

    @staticmethod
    def only(method: str, allowed: str) -> None:
        if method != allowed:
            raise ApiError(405, "Method not allowed.")

    # --- sessions ---------------------------------------------------------------------------------------

    def logon(self, request: Request, r: Renderer, base: str) -> Response:
        version = _param(request, "v")
        if version is not None and version not in _VERSIONS:
            raise ApiError(400, f"Unsupported API version '{version}'. Supported versions: "
                                + ", ".join(_VERSIONS) + ".")
        cfg = self.state.config
        user = self.basic_credentials(request)
        if user is None or user[0].lower() != cfg.username.lower() or user[1] != cfg.password:
            with self.state.lock:
                self.state.failed_logons += 1
            raise ApiError(401, "The user name or password is incorrect.",
                           {"WWW-Authenticate": "Basic Realm=RestSvc"})
        session = self.state.new_session(cfg.username)
        body = r.single(views.logon_session(base, session.session_id, session.user_name))
        return self.respond(r, body, 201, {
            TOKEN_HEADER: session.token,
            "Set-Cookie": f"{TOKEN_HEADER}={session.token}; Path=/api;",
        })

    @staticmethod
    def basic_credentials(request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None

    def authenticate(self, request: Request) -> Session:
        # EM documents that the cookie wins when both cookie and header carry a token.
        token = request.cookies.get(TOKEN_HEADER) or request.headers.get(TOKEN_HEADER)
        if not token:
            raise ApiError(401, "Authorization header has been expected but not found. "
                                "Log on with POST /api/sessionMngr/?v=latest.")
        session = self.state.touch(token)
        if session is None:
            raise ApiError(401, "The session has expired or is not valid. Create a new logon session.")
        return session

    def logon_sessions(self, request: Request, r: Renderer, base: str, segs: list[str],
                       session: Session) -> Response:
        if len(segs) == 1:
            self.only(request.method, "GET")
            with self.state.lock:
                live = list(self.state.sessions.values())
            items = [views.logon_session(base, s.session_id, s.user_name) for s in live]
            return self.respond(r, r.entity_list("LogonSessions", items))
        if len(segs) > 2:
            raise ApiError(404, "Endpoint not found.")
        session_id = _guid(segs[1])
        if request.method == "DELETE":
            if not self.state.end_session(session_id):
                raise ApiError(404, f"LogonSession with id [{session_id}] was not found.")
            return Response(status_code=204)
        self.only(request.method, "GET")
        with self.state.lock:
            found = next((s for s in self.state.sessions.values() if s.session_id == session_id), None)
        if found is None:
            raise ApiError(404, f"LogonSession with id [{session_id}] was not found.")
        return self.respond(r, r.single(views.logon_session(base, found.session_id, found.user_name)))

    # --- query service ----------------------------------------------------------------------------------

    def query(self, request: Request, r: Renderer, base: str) -> Response:
        req = parse_query_params(request.query_params.multi_items())
        page = self.state.query.run(req)
        ctx = ViewContext(base, self.state.dataset, self.state.config)
        view = _COLLECTIONS[page.spec.plural.lower()].view
        items = [view(ctx, o, req.entities) for o in page.items]
        links = [Link(href, rel) for rel, href in paging_hrefs(base, req, page.pages_count, page.page_num)]
        paging = Paging(page.page_num, page.page_size, page.pages_count, links)
        body = r.query_result("entities" if req.entities else "refs", page.spec.plural, items, paging)
        return self.respond(r, body)


def create_app(config: SimulatorConfig | None = None, dataset: Dataset | None = None) -> Starlette:
    """A ready-to-serve simulator app; `app.state.sim` is its SimulatorState."""
    cfg = config if config is not None else SimulatorConfig()
    data = dataset if dataset is not None else build_dataset()
    state = SimulatorState(cfg, data)
    handler = _Handler(state)
    app = Starlette(
        routes=[Route("/{rest:path}", handler.handle, methods=_ALL_METHODS)],
        # The envelope is outermost: faulted requests are still logged and still carry EM's headers.
        middleware=[
            Middleware(_EmEnvelope, state=state),
            Middleware(FaultInjector, faults=state.faults, expire_sessions=state.expire_all_sessions,
                       xml=state.xml, json=state.json),
        ],
    )
    app.state.sim = state
    return app
