"""Small HTTP apps that are *not* Enterprise Manager: what a wrong URL or port really answers.

- the VBR REST API (port 9419): JSON errors, OAuth2 only, no /api/sessionMngr;
- a web UI or a proxy's login page: 200 with HTML for every path;
- a generic service that answers 2xx without a session token.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route


async def _vbr_rest(request: Request) -> Response:
    return JSONResponse({"errorCode": "NotFound", "message": "Resource not found", "resourceId": None}, status_code=404)


async def _html(request: Request) -> Response:
    return HTMLResponse("<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login</body></html>")


async def _ok_without_token(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, status_code=200)


def vbr_rest_api() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", _vbr_rest, methods=["GET", "POST", "DELETE"])])


def html_login_page() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", _html, methods=["GET", "POST", "DELETE"])])


def ok_without_token() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", _ok_without_token, methods=["GET", "POST", "DELETE"])])
