"""The dashboard's routes on the operator API's app: the login that swaps a token for a session
cookie, the page and its assets (plotly.js from the installed plotly package, no CDN), and the
reports of stored runs.

The page reads and acts through the same ``/api/v1`` endpoints as any API client, authenticated by
the session cookie instead of a bearer header (see :mod:`tradewind.ops.api`), so what it shows
is what the API answers. Its pages carry a Content-Security-Policy that allows scripts and
requests from this origin only, and no framing by another site (the controls cannot be
click-jacked).
"""

from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Protocol

import plotly
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from tradewind.ops.facade import Actor, ControlFacade
from tradewind.ops.web.run_report import run_report_html
from tradewind.ops.web.sessions import SessionStore
from tradewind.persistence.api_tokens import check_token, check_token_id

__all__ = ["PLOTLY_JS", "add_dashboard"]

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
"""plotly.js as the installed plotly package ships it."""
_STATIC = files("tradewind.ops.web") / "static"
_ASSETS = {
    "app.js": "text/javascript",
    "app.css": "text/css",
    "login.js": "text/javascript",
}
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
# The run report is one generated page whose figures are inline scripts (plotly's own output).
_REPORT_POLICY = _PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


class FailedLogins(Protocol):
    """Failed logins per client address (the API's :class:`~tradewind.ops.api.LoginLimiter`)."""

    def blocked(self, address: str) -> bool:
        """Whether ``address`` is over its failure budget now."""
        ...

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        ...


class Login(BaseModel):
    """The API token a dashboard login swaps for a session cookie."""

    token: str = Field(min_length=1, max_length=200)


def _secured(response: Response, policy: str = _PAGE_POLICY) -> Response:
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _html(name: str) -> HTMLResponse:
    return HTMLResponse((_STATIC / name).read_text(encoding="utf-8"))


def add_dashboard(
    app: FastAPI,
    facade: ControlFacade,
    *,
    sessions: SessionStore,
    limiter: FailedLogins,
    reader: Callable[..., Awaitable[Any]],
) -> None:
    """Add the dashboard under ``/dashboard`` (and ``/`` redirecting to it) to ``app``.

    ``limiter`` counts failed logins per address (shared with the API's bearer checks);
    ``reader`` is the API's dependency that admits a ``read`` caller.
    """
    Read = Annotated[Any, Depends(reader)]

    def logged_in(request: Request) -> bool:
        cookie = request.cookies.get(sessions.cookie)
        session = None if cookie is None else sessions.find(cookie)
        return (
            session is not None and check_token_id(facade.bot.engine, session.token_id) is not None
        )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=303)

    @app.get("/dashboard", include_in_schema=False)
    async def page(request: Request) -> Response:
        if not logged_in(request):
            return RedirectResponse("/dashboard/login", status_code=303)
        return _secured(_html("index.html"))

    @app.get("/dashboard/login", include_in_schema=False)
    async def login_page() -> Response:
        return _secured(_html("login.html"))

    @app.post("/dashboard/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        # A JSON body only: another site's plain form cannot post one without a CORS preflight.
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPException(415, 'send the token as JSON: {"token": "..."}')
        address = request.client.host if request.client else "unknown"
        if limiter.blocked(address):
            raise HTTPException(429, "too many failed logins; try again later")
        try:
            body = Login.model_validate_json(await request.body())
        except ValidationError:
            raise HTTPException(422, 'send the token as JSON: {"token": "..."}') from None
        grant = check_token(facade.bot.engine, body.token)
        if grant is None:
            limiter.failed(address)
            refusal = "unknown, revoked or expired token"
            facade.record_login(Actor("unknown", "dashboard"), address, refused=refusal)
            raise HTTPException(401, refusal)
        facade.record_login(Actor(f"token:{grant.name}", "dashboard"), address)
        cookie, session = sessions.open(grant.token_id)
        answer = JSONResponse(
            {"name": grant.name, "scopes": sorted(grant.scopes), "csrf": session.csrf}
        )
        answer.set_cookie(
            sessions.cookie, cookie, max_age=int(sessions.ttl_s), path="/", httponly=True,
            samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip
        return _secured(answer)

    @app.get("/dashboard/session", include_in_schema=False)
    async def whoami(request: Request, caller: Read) -> Response:
        cookie = request.cookies.get(sessions.cookie)
        session = None if cookie is None else sessions.find(cookie)
        if session is None:  # a bearer token has no session (and no CSRF token to hand out)
            raise HTTPException(401, "no dashboard session; log in at /dashboard/login")
        return _secured(
            JSONResponse(
                {"name": caller.grant.name, "scopes": sorted(caller.grant.scopes),
                 "csrf": session.csrf, "bot": facade.bot.name, "mode": facade.mode}
            )
        )  # fmt: skip

    @app.post("/dashboard/logout", include_in_schema=False)
    async def logout(request: Request, _: Read) -> Response:
        cookie = request.cookies.get(sessions.cookie)
        if cookie is not None:
            sessions.close(cookie)
        answer = JSONResponse({"logged_out": True})
        answer.delete_cookie(sessions.cookie, path="/", httponly=True, samesite="strict")
        return _secured(answer)

    @app.get("/dashboard/static/plotly.min.js", include_in_schema=False)
    async def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    @app.get("/dashboard/static/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        kind = _ASSETS.get(name)
        if kind is None:
            raise HTTPException(404, f"no dashboard asset {name!r}")
        return Response((_STATIC / name).read_text(encoding="utf-8"), media_type=kind)

    @app.get("/dashboard/runs/{run_id}/report", include_in_schema=False)
    async def run_report(_: Read, run_id: int) -> Response:
        page_text = run_report_html(
            facade.run(run_id), plotly_src="/dashboard/static/plotly.min.js"
        )
        return _secured(HTMLResponse(page_text), _REPORT_POLICY)
