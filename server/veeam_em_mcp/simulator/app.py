"""The Enterprise Manager simulator as a Starlette ASGI app (the other side of the wire for demo and tests).

It implements the part of the EM REST API the product uses, with real-server behaviour: Basic-auth logon
at `/api/sessionMngr/` returning a token header and cookie, idle session expiry, cookie-over-header token
precedence, reference vs entity representations, XML by default and JSON on `Accept: application/json`
(in the configured dialect), EM-shaped Error bodies for 400/401/404/405, the query service with paging, the
summary reports, and EM's response headers. Collections and their sub-collections are routed from the
registry's rows (registry/) under one catch-all route, so that every miss gets an EM Error body; a GET of an
action link (`?action=...`) answers 405, as the action exists but only as POST. The service documents `/agents`
and `/vCloud` come from `views.documents.SERVICES`; the state the tests read is
`SimulatorState` (state.py).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import reports
from .config import SimulatorConfig
from .dataset import Dataset, build_dataset
from .faults.fault_set import shape_page
from .faults.middleware import FaultInjector
from .fields import QueryError
from .query.request import paging_hrefs, parse_query_params
from .registry import DEFAULT_REGISTRY, Registry
from .registry.row import Row
from .render.renderer import Renderer
from .render.resource import Link, Paging, Resource
from .state import Session, SimulatorState
from .views.common import ViewContext, unmodelled
from .views.documents import SERVICES, SUPPORTED_VERSIONS, enterprise_manager_links, logon_session

TOKEN_HEADER = "X-RestSvcSessionId"  # noqa: S105 - a header name, not a secret
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_VERSIONS = ("latest", *SUPPORTED_VERSIONS)

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
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 first_chance: str | None = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        # "" repeats the message in FirstChanceExceptionMessage; None leaves it null (real 400/404 on ids).
        self.first_chance = first_chance


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


def _item_id(row: Row, raw: str) -> str:
    """The item id of a path segment: a GUID (canonical lower case) or, for name-addressed rows, the text.
    A malformed GUID is EM's 400 with its leading space: " ID 99999 is invalid. Type: Job"."""
    if not row.guid_ids:
        return raw
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(400, f" ID {raw} is invalid. Type: {row.type_name}", first_chance=None) from None


def _not_found(row: Row, item_id: str) -> ApiError:
    """EM's 404 for an unknown id: "Cannot find job [<guid>]"."""
    return ApiError(404, f"Cannot find {row.label} [{item_id}]", first_chance=None)


def _action(request: Request) -> str | None:
    return _param(request, "action")


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
            return self.respond(r, r.error(exc.status, exc.message, exc.first_chance), exc.status, exc.headers)
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
            links, versions = enterprise_manager_links(base)
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
        if head == "reports":
            return self.reports(request, r, base, segs)
        if len(segs) == 1 and head in SERVICES:
            # Service documents (`/agents`, `/vCloud`): links to their collections.
            self.only(method, "GET")
            if _action(request) is not None:
                raise ApiError(405, "Method not allowed: actions are POST requests.")
            return self.respond(r, r.single(SERVICES[head](base)))
        return self.collection(request, r, base, segs)

    def collection(self, request: Request, r: Renderer, base: str, segs: list[str]) -> Response:
        """`/<row>[/{id}[/<child>[/{child id}]]]`, answered from the registry's rows."""
        registry = self.state.registry
        found = registry.match(segs)
        if found is None:
            raise ApiError(404, "Endpoint not found.")
        row, used = found
        rest = segs[used:]
        child = None
        if len(rest) >= 2:
            child = next((c for c in row.children if c.segment.lower() == rest[1].lower()), None)
            if child is None or len(rest) > 3 or (len(rest) == 3 and not child.addressable) or \
                    (len(rest) == 3 and child.render is not None):
                raise ApiError(404, "Endpoint not found.")
        self.only(request.method, "GET")
        ds = self.state.dataset
        ctx = ViewContext(base, ds, self.state.config)
        entity = _want_entity(request)
        if not rest:
            if _action(request) is not None:
                raise ApiError(405, "Method not allowed: actions are POST requests.")
            return self.respond(r, self.render_list(r, ctx, row, list(row.items(ds).values()), entity))
        obj_id = _item_id(row, rest[0])
        obj = row.items(ds).get(obj_id)
        if obj is None:
            raise _not_found(row, obj_id)
        if _action(request) is not None:
            raise ApiError(405, "Method not allowed: actions are POST requests.")
        if child is None:
            return self.respond(r, r.single(row.view(ctx, obj, entity or row.resource_only)))
        if child.render is not None:
            return self.respond(r, r.single(child.render(ctx, obj)))
        target = registry.row(child.type_name)
        items = child.items(ds, obj)
        if len(rest) == 3:
            item_id = _item_id(target, rest[2])
            item = next((o for o in items if o.id == item_id), None)
            if item is None:
                raise _not_found(target, item_id)
            return self.respond(r, r.single(target.view(ctx, item, entity or target.resource_only)))
        return self.respond(r, self.render_list(r, ctx, target, items, entity))

    @staticmethod
    def render_list(r: Renderer, ctx: ViewContext, row: Row, items: Sequence[Any], entity: bool) -> bytes:
        if row.resource_only or entity or row.list_entities:
            return r.entity_list(row.list_element, [_listed(row, row.view(ctx, o, True)) for o in items],
                                 json_key=row.list_key)
        return r.ref_list([row.view(ctx, o, False) for o in items])

    def reports(self, request: Request, r: Renderer, base: str, segs: list[str]) -> Response:
        self.only(request.method, "GET")
        if len(segs) < 2 or segs[1].lower() != "summary" or len(segs) > 3:
            raise ApiError(404, "Endpoint not found.")
        if len(segs) == 2:
            return self.respond(r, r.single(reports.summary_report(base)))
        name = segs[2].lower()
        if name not in reports.FRAMES:
            raise ApiError(404, f"Cannot find report frame [{segs[2]}]", first_chance=None)
        return self.respond(r, r.report_frame(reports.frame(name, self.state.summary, self.state.dataset)))

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
        body = r.single(logon_session(base, session.session_id, session.user_name))
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
            items = [logon_session(base, s.session_id, s.user_name) for s in live]
            return self.respond(r, r.entity_list("LogonSessions", items))
        if len(segs) > 2:
            raise ApiError(404, "Endpoint not found.")
        session_id = _item_id(_LOGON_ROW, segs[1])
        if request.method == "DELETE":
            if not self.state.end_session(session_id):
                raise _not_found(_LOGON_ROW, session_id)
            return Response(status_code=204)
        self.only(request.method, "GET")
        with self.state.lock:
            found = next((s for s in self.state.sessions.values() if s.session_id == session_id), None)
        if found is None:
            raise _not_found(_LOGON_ROW, session_id)
        return self.respond(r, r.single(logon_session(base, found.session_id, found.user_name)))

    # --- query service ----------------------------------------------------------------------------------

    def query(self, request: Request, r: Renderer, base: str) -> Response:
        req = parse_query_params(request.query_params.multi_items())
        page = self.state.query.run(req)
        # Injected page faults (short-page, pages-drift): fewer items, or a PagesCount that is off.
        chosen = self.state.faults.take_page(request.method, request.url.path, page.spec.name,
                                             page.page_num >= page.pages_count)
        page_items, pages_count = shape_page(chosen, list(page.items), page.pages_count)
        ctx = ViewContext(base, self.state.dataset, self.state.config)
        row = self.state.registry.row(page.spec.name)
        dialect = self.state.config.json_dialect
        links = [Link(href, rel) for rel, href in paging_hrefs(base, req, pages_count, page.page_num, dialect)]
        paging = Paging(page.page_num, page.page_size, pages_count, links)
        if row.resource_only:
            # ObjectInJob has no reference form: its results are always resources (XML Resources/sInObjectJob).
            items = [row.view(ctx, o, True) for o in page_items]
            body = r.query_result("resources", row.plural, items, paging, xml_plural=row.query_xml_plural)
        else:
            items = [_listed(row, row.view(ctx, o, True)) if req.entities else row.view(ctx, o, False)
                     for o in page_items]
            body = r.query_result("entities" if req.entities else "refs", row.plural, items, paging,
                                  xml_plural=row.query_xml_plural, inner=row.json_list_key)
        return self.respond(r, body)


def _listed(row: Row, res: Resource) -> Resource:
    """An entity as an item of a list: `<Sessions>` for a system session (the row's `item_element`)."""
    if row.item_element is not None:
        res.element = row.item_element
    return res


# Logon sessions are routed by hand (they are no collection of the dataset); this row only names them in errors.
_LOGON_ROW = Row(type_name="LogonSession", plural="LogonSessions", items=lambda d: {}, view=unmodelled,
                 label="logon session")


def create_app(config: SimulatorConfig | None = None, dataset: Dataset | None = None,
               registry: Registry | None = None) -> Starlette:
    """A ready-to-serve simulator app; `app.state.sim` is its SimulatorState. `registry` replaces the
    collection rows (tests add a throwaway type this way)."""
    cfg = config if config is not None else SimulatorConfig()
    data = dataset if dataset is not None else build_dataset()
    state = SimulatorState(cfg, data, registry if registry is not None else DEFAULT_REGISTRY)
    handler = _Handler(state)
    app = Starlette(
        routes=[Route("/{rest:path}", handler.handle, methods=_ALL_METHODS)],
        # The envelope is outermost: faulted requests are still logged and still carry EM's headers.
        middleware=[
            Middleware(_EmEnvelope, state=state),
            Middleware(FaultInjector, faults=state.faults, expire_sessions=state.expire_all_sessions,
                       xml=state.xml, json=state.json, mutate=state.mutate),
        ],
    )
    app.state.sim = state
    return app
