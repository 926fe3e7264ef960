"""The operator's REST API: every control-facade call over HTTP (FastAPI is imported only here).

Authentication is a bearer token with scopes (``read`` < ``trade`` < ``admin``), checked against
the hashed tokens in the bot's database, or the web dashboard's session cookie that a login swapped
such a token for (:mod:`tradewind.ops.web.sessions`; a request on a session that changes state needs
its CSRF token too, or gets 403). Every endpoint but ``/health``, the OpenAPI schema and the
dashboard's login page and assets answers 401 without a valid token (``/metrics`` needs
``read``). Failed logins (a token that is not valid) are counted per client address: after
``max_failures`` within ``window_s`` seconds, that address gets 429 until the window passes,
valid token or not.

Handlers are ``async`` on purpose: they run on the event loop that drives the Node (the API lives
inside the trading process), so a facade call never races the trading loop on another thread.
"""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from tradewind.core.errors import UserError
from tradewind.ops.errors import NotAvailableError, UnknownNameError
from tradewind.ops.events import EventHub
from tradewind.ops.facade import Actor, ControlFacade
from tradewind.ops.metrics import CONTENT_TYPE, BotMetrics
from tradewind.ops.two_factor import TwoFactorError
from tradewind.ops.web.routes import add_dashboard
from tradewind.ops.web.sessions import CSRF_HEADER, SAFE_METHODS, SessionStore, cookie_name
from tradewind.persistence.api_tokens import TokenGrant, check_token, check_token_id

__all__ = ["Caller", "LoginLimiter", "build_app"]

_RANK = {"read": 0, "trade": 1, "admin": 2}
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, unknown, revoked or expired token (or dashboard session)"},
    403: {
        "description": "the token lacks the scope, a dashboard request lacks its CSRF token, or "
        "a dangerous action lacks a valid two-factor code"
    },
    429: {"description": "too many failed logins from this address"},
}
_ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH_ERRORS,
    400: {"description": "the request is not something the bot can do"},
    404: {"description": "the request names a symbol or strategy the bot does not have"},
    409: {"description": "not possible in the bot's present state or set-up"},
}


RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
"""A stored row's id: a database integer (a larger one is a 422, not an overflow)."""


class Reason(BaseModel):
    """Why the operator acts (written to the operator-actions log)."""

    reason: str = Field(min_length=1, max_length=500)


class Confirmed(Reason):
    """A dangerous action: with two-factor on, the operator's current authenticator code (or none
    when the action needs none now; ``status`` says ``resume_needs_code``)."""

    code: str | None = Field(default=None, max_length=12)


class ForceExit(Reason):
    """Which position to close: one symbol (optionally one strategy's), or all when neither."""

    symbol: str | None = Field(default=None, max_length=64)
    strategy: str | None = Field(default=None, max_length=100)


class RiskLimitsRequest(Confirmed):
    """New values for some of the running bot's portfolio limits (null turns one off)."""

    limits: dict[str, int | float | None] = Field(min_length=1, max_length=20)


class ParamsRequest(Reason):
    """New values for some of a strategy's parameters."""

    params: dict[str, int | float | str | bool] = Field(min_length=1)


class JobSpec(BaseModel):
    """What a job runs: a registered strategy on the bundled month (its first ``bars`` bars), or
    (``ml_retrain``) a registered model retrained on a candle file behind the promotion gate."""

    model_config = ConfigDict(extra="forbid")
    strategy: str | None = Field(default=None, min_length=1, max_length=100)
    model: str | None = Field(default=None, min_length=1, max_length=100)
    data: str | None = Field(default=None, min_length=1, max_length=1000)
    params: dict[str, int | float | str | bool] | None = None
    bars: int | None = Field(default=None, ge=500)
    stake: str | None = Field(default=None, max_length=20)
    trials: int | None = Field(default=None, ge=1, le=10_000)
    sampler: Literal["tpe", "cmaes", "random", "grid"] | None = None


class JobRequest(Reason):
    """A backtest, optimisation or model retraining to run in the worker process."""

    kind: Literal["backtest", "optimize", "ml_retrain"]
    spec: JobSpec


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's grant, and the channel (``api`` for a bearer token,
    ``dashboard`` for a login session)."""

    grant: TokenGrant
    channel: str


class LoginLimiter:
    """Failed logins per client address within a sliding window."""

    def __init__(self, max_failures: int = 10, window_s: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        cutoff = time.monotonic() - self.window_s
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def blocked(self, address: str) -> bool:
        """Whether ``address`` is over its failure budget now."""
        return len(self._recent(address)) >= self.max_failures

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        self._recent(address).append(time.monotonic())


def build_app(
    facade: ControlFacade,
    *,
    events: EventHub | None = None,
    metrics: BotMetrics | None = None,
    limiter: LoginLimiter | None = None,
    sessions: SessionStore | None = None,
) -> FastAPI:
    """The API of one bot over its facade (tokens are read from the bot's database), with the web
    dashboard under ``/dashboard`` (logins are kept in ``sessions``)."""
    app = FastAPI(
        title="Tradewind operator API",
        version="1",
        description="Read and operate one running Tradewind bot.",
    )
    bearer = HTTPBearer(auto_error=False)
    limits = limiter or LoginLimiter()
    logins = sessions or SessionStore(cookie_name(facade.bot.name))
    hub = events or facade.events or EventHub()
    facade.events = hub
    bot_metrics = metrics
    if bot_metrics is None:
        bot_metrics = BotMetrics(facade)
        bot_metrics.attach(facade.node.bus)

    def from_session(request: Request) -> TokenGrant | None:
        cookie = request.cookies.get(logins.cookie)
        session = None if cookie is None else logins.find(cookie)
        if session is None:
            return None
        grant = check_token_id(facade.bot.engine, session.token_id)
        if grant is None:  # the token was revoked or expired since the login
            logins.close(str(cookie))
            return None
        if request.method not in SAFE_METHODS and not logins.csrf_ok(
            session, request.headers.get(CSRF_HEADER)
        ):
            raise HTTPException(403, f"missing or wrong CSRF token (the {CSRF_HEADER} header)")
        return grant

    def authorise(scope: str) -> Callable[..., Awaitable[Caller]]:
        async def check(
            request: Request,
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> Caller:
            address = request.client.host if request.client else "unknown"
            if limits.blocked(address):
                raise HTTPException(429, "too many failed logins; try again later")
            channel = "api"
            if creds is None:
                grant, channel = from_session(request), "dashboard"
            else:
                grant = check_token(facade.bot.engine, creds.credentials)
            if grant is None:
                if creds is not None:  # a wrong guess, not a request that forgot its token
                    limits.failed(address)
                raise HTTPException(
                    401, "missing or invalid token", headers={"WWW-Authenticate": "Bearer"}
                )
            if max(_RANK.get(s, -1) for s in grant.scopes) < _RANK[scope]:
                raise HTTPException(403, f"this token lacks the {scope!r} scope")
            return Caller(grant, channel)

        return check

    Read = Annotated[Caller, Depends(authorise("read"))]
    Trade = Annotated[Caller, Depends(authorise("trade"))]
    Admin = Annotated[Caller, Depends(authorise("admin"))]

    def actor(caller: Caller) -> Actor:
        return Actor(f"token:{caller.grant.name}", caller.channel)

    @app.exception_handler(UserError)
    async def user_error(_: Request, exc: UserError) -> JSONResponse:
        status = 400
        if isinstance(exc, UnknownNameError):
            status = 404
        elif isinstance(exc, TwoFactorError):
            status = 403
        elif isinstance(exc, NotAvailableError):
            status = 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # jsonable: a body that is not JSON comes back as its bytes in the error's input.
        return JSONResponse({"detail": jsonable_encoder(exc.errors()[:5])}, status_code=422)

    @app.get(
        "/health",
        tags=["health"],
        responses={503: {"description": "a component is not ok (same body)"}},
    )
    async def health() -> JSONResponse:
        """Each component's state; 503 when any is not ok (no token needed)."""
        report = facade.health()
        return JSONResponse(report, status_code=200 if report["ok"] else 503)

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={**_AUTH_ERRORS, 200: {"content": {"text/plain": {}}}},
    )
    async def prometheus(_: Read) -> Response:
        """Prometheus text exposition (needs a ``read`` token)."""
        return Response(bot_metrics.render(), media_type=CONTENT_TYPE)

    v1 = "/api/v1"

    @app.get(f"{v1}/status", responses=_AUTH_ERRORS)
    async def status(_: Read) -> dict[str, Any]:
        """Mode, engine time, pause state, strategies, counts and equity."""
        return facade.status()

    @app.get(f"{v1}/balances", responses=_AUTH_ERRORS)
    async def balances(_: Read) -> dict[str, str]:
        """Balance per asset (exact decimal text)."""
        return facade.balances()

    @app.get(f"{v1}/positions", responses=_AUTH_ERRORS)
    async def positions(_: Read) -> list[dict[str, Any]]:
        """Open positions by strategy and symbol."""
        return facade.positions()

    @app.get(f"{v1}/equity", responses=_AUTH_ERRORS)
    async def equity(
        _: Read, points: Annotated[int, Query(ge=2, le=10_000)] = 2000
    ) -> dict[str, Any]:
        """The equity at each bar's close so far, ``[close time ms, equity]``, thinned evenly to
        at most ``points``."""
        return facade.equity_curve(points)

    @app.get(f"{v1}/strategies", responses=_AUTH_ERRORS)
    async def strategies(_: Read) -> list[dict[str, Any]]:
        """The running strategies with their parameters (value, default, range)."""
        return facade.strategies()

    @app.get(f"{v1}/costs", responses=_AUTH_ERRORS)
    async def costs(_: Read) -> dict[str, Any]:
        """Transaction-cost analysis of the filled orders (bps of the arrival mid), by strategy
        and order type, and the fees paid per currency."""
        return facade.execution_costs()

    @app.get(f"{v1}/costs/stored", responses=_AUTH_ERRORS)
    async def stored_costs(_: Read) -> dict[str, Any]:
        """The execution costs of every session in the bot's database, per order and parent,
        aggregated by strategy, venue, algorithm and kind."""
        return facade.stored_costs()

    @app.get(f"{v1}/parents", responses=_AUTH_ERRORS)
    async def parents(_: Read, working: bool = False) -> list[dict[str, Any]]:
        """The bot's parent orders as written ahead (only the working ones with ``working``)."""
        return facade.parent_orders(working)

    @app.get(f"{v1}/runs", responses=_AUTH_ERRORS)
    async def runs(
        _: Read,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        kind: Literal["backtest", "optimisation", "walkforward"] | None = None,
    ) -> list[dict[str, Any]]:
        """The stored backtest, optimisation and walk-forward runs, newest first."""
        return facade.runs(limit, kind)

    @app.get(
        f"{v1}/runs/{{run_id}}", responses={**_AUTH_ERRORS, 404: {"description": "no such run"}}
    )
    async def run(_: Read, run_id: RowId) -> dict[str, Any]:
        """One stored run with every metric and trade."""
        return facade.run(run_id)

    @app.get(f"{v1}/orders", responses=_AUTH_ERRORS)
    async def orders(_: Read) -> list[dict[str, Any]]:
        """Working orders."""
        return facade.open_orders()

    @app.get(f"{v1}/trades", responses=_AUTH_ERRORS)
    async def trades(
        _: Read, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[dict[str, Any]]:
        """The latest fills, newest first."""
        return facade.trades(limit)

    @app.get(f"{v1}/profit", responses=_AUTH_ERRORS)
    async def profit(_: Read) -> dict[str, dict[str, Any]]:
        """Closed-trade PnL over the last day, week, month and the session."""
        return facade.profit()

    @app.get(f"{v1}/performance", responses=_AUTH_ERRORS)
    async def performance(_: Read) -> list[dict[str, Any]]:
        """Closed trades, win rate and PnL per strategy."""
        return facade.performance()

    @app.get(f"{v1}/risk", responses=_AUTH_ERRORS)
    async def risk(_: Read) -> dict[str, Any]:
        """Breakers in force, recent trips, pause and stopped symbols."""
        return facade.risk()

    @app.get(f"{v1}/logs", responses=_AUTH_ERRORS)
    async def logs(
        _: Read, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        """Recent log lines, oldest first."""
        return facade.log_lines(limit)

    @app.get(f"{v1}/actions", responses=_AUTH_ERRORS)
    async def actions(
        _: Read, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[dict[str, Any]]:
        """The latest operator actions on this bot, newest first."""
        return facade.operator_actions(limit)

    @app.post(f"{v1}/pause", responses=_ACTION_ERRORS)
    async def pause(caller: Trade, body: Reason) -> dict[str, Any]:
        """No new entries; exits and protective stops go on."""
        return facade.pause(actor(caller), body.reason)

    @app.post(f"{v1}/resume", responses=_ACTION_ERRORS)
    async def resume(caller: Trade, body: Confirmed) -> dict[str, Any]:
        """Take new entries again (after an emergency stop, with two-factor on: with a code)."""
        return facade.resume(actor(caller), body.reason, code=body.code)

    @app.post(f"{v1}/symbols/{{symbol}}/stop-entries", responses=_ACTION_ERRORS)
    async def stop_entries(caller: Trade, symbol: str, body: Reason) -> dict[str, Any]:
        """No new entries in one symbol."""
        return facade.stop_entries(actor(caller), symbol, body.reason)

    @app.post(f"{v1}/symbols/{{symbol}}/allow-entries", responses=_ACTION_ERRORS)
    async def allow_entries(caller: Trade, symbol: str, body: Reason) -> dict[str, Any]:
        """Take new entries in one symbol again."""
        return facade.allow_entries(actor(caller), symbol, body.reason)

    @app.post(f"{v1}/force-exit", responses=_ACTION_ERRORS)
    async def force_exit(caller: Trade, body: ForceExit) -> dict[str, Any]:
        """Close one position, or every position when no symbol or strategy is given."""
        return facade.force_exit(
            actor(caller), body.reason, symbol=body.symbol, strategy=body.strategy
        )

    @app.post(f"{v1}/emergency-stop", responses=_ACTION_ERRORS)
    async def emergency_stop(caller: Trade, body: Reason) -> dict[str, Any]:
        """Cancel every order, flatten every position the bot owns, halt until resumed."""
        return facade.emergency_stop(actor(caller), body.reason)

    @app.post(f"{v1}/config/reload", responses=_ACTION_ERRORS)
    async def reload(caller: Admin, body: Confirmed) -> dict[str, Any]:
        """Reload the bot's config file (admin): only reloadable keys, others refused by name;
        with two-factor on, with a code."""
        return facade.reload_config(actor(caller), body.reason, code=body.code)

    @app.post(f"{v1}/risk/limits", responses=_ACTION_ERRORS)
    async def set_risk_limits(caller: Admin, body: RiskLimitsRequest) -> dict[str, Any]:
        """Change the running bot's portfolio limits (admin): only those that apply at the next
        decision, others refused by name; with two-factor on, with a code."""
        return facade.set_risk_limits(actor(caller), body.limits, body.reason, code=body.code)

    @app.post(f"{v1}/strategies/{{strategy}}/params", responses=_ACTION_ERRORS)
    async def set_params(caller: Admin, strategy: str, body: ParamsRequest) -> dict[str, Any]:
        """Change a running hook strategy's parameters (admin)."""
        return facade.set_params(actor(caller), strategy, body.params, body.reason)

    @app.post(f"{v1}/jobs", responses=_ACTION_ERRORS)
    async def start_job(caller: Trade, body: JobRequest) -> dict[str, Any]:
        """Queue a backtest or optimisation for the worker process."""
        spec = body.spec.model_dump(exclude_none=True)
        return facade.start_job(actor(caller), body.kind, spec, body.reason)

    @app.get(f"{v1}/models", responses=_AUTH_ERRORS)
    async def list_models(_: Read) -> list[dict[str, Any]]:
        """Registered models: stage, out-of-sample scores, and live accuracy and confidence of
        those the session trades."""
        return facade.models()

    @app.get(f"{v1}/jobs", responses=_AUTH_ERRORS)
    async def list_jobs(
        _: Read, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[dict[str, Any]]:
        """The latest jobs, newest first."""
        return facade.jobs(limit)

    @app.get(
        f"{v1}/jobs/{{job_id}}", responses={**_AUTH_ERRORS, 404: {"description": "no such job"}}
    )
    async def get_job(_: Read, job_id: RowId) -> dict[str, Any]:
        """One job: its state, and its result or error once finished."""
        return facade.job(job_id)

    @app.get(
        f"{v1}/events",
        response_class=StreamingResponse,
        responses={**_AUTH_ERRORS, 200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(_: Read, limit: Annotated[int, Query(ge=1)] = 1_000_000) -> StreamingResponse:
        """Server-sent events: fills, liquidations, breaker trips, operator actions, alerts
        (``limit`` ends the stream after that many events)."""
        queue, close = hub.listen()

        async def body() -> AsyncIterator[str]:
            try:
                yield ": connected\n\n"
                for _ in range(limit):
                    try:
                        yield await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                close()

        return StreamingResponse(body(), media_type="text/event-stream")

    add_dashboard(app, facade, sessions=logins, limiter=limits, reader=authorise("read"))
    app.state.facade = facade
    app.state.events = hub
    app.state.metrics = bot_metrics
    app.state.sessions = logins
    return app
