"""Operators: people and their tokens (admin), and manual alert / extend / cancel with a reason.

A duty officer's command goes through the core like any report: it becomes an
:class:`~airshield.alerting.events.OperatorCommand` (who, what, why, how long),
is written to the event log before the reply (``202``), and the alert policy
applies it at the next step; what it did is an ``audit`` event in the log
(``GET /v1/audit``, and the push stream). So the audit trail is the event log
itself: append-only, replayed identically after a crash.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator

from airshield.alerting.events import OperatorCommand
from airshield.server.auth import require
from airshield.server.engine import EngineError
from airshield.server.read import _page
from airshield.server.state import Principal

router = APIRouter(tags=["operators"])

#: URL action -> the policy's action.
ACTIONS = {"alert": "raise", "extend": "extend", "cancel": "cancel"}


class OperatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    role: Literal["operator", "viewer", "admin"] = "operator"


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    reason: str = Field(min_length=1, max_length=2000, description="why (required; kept in the audit trail)")

    @field_validator("reason")
    @classmethod
    def _said_something(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the reason must say something (it is blank)")
        return v
    minutes: float = Field(default=0.0, ge=0.0, le=7 * 24 * 60, allow_inf_nan=False,
                           description="alert/extend: hold the alert at least this long; cancel: keep the threats "
                                       "behind it from re-raising it this long")


@router.post("/v1/operators", status_code=201, tags=["operators"],
             summary="Create a person's token (admin): operator, viewer or admin; shown once")
def create_operator(request: Request, body: OperatorIn, principal: Annotated[Principal, Depends(require("admin"))]):
    token = request.app.state.server.add_token(body.role, body.id, None, time.time())
    return {"id": body.id, "role": body.role, "token": token}


@router.get("/v1/operators", summary="People with tokens (admin)")
def list_operators(request: Request, principal: Annotated[Principal, Depends(require("admin"))]) -> list[dict]:
    return request.app.state.server.operators()


@router.get("/v1/me", summary="Who a person's token is: id and role (viewer, operator or admin)")
def me(principal: Annotated[Principal, Depends(require("viewer"))]) -> dict:
    # The map's sign-in asks this, to show a duty officer's controls only to an operator.
    return {"id": principal.subject, "role": principal.role}


@router.delete("/v1/operators/{operator_id}", summary="Revoke a person's tokens (admin)")
def revoke_operator(request: Request, operator_id: str, principal: Annotated[Principal, Depends(require("admin"))],
                    role: Annotated[Literal["operator", "viewer", "admin"], Query()] = "operator"):
    n = request.app.state.server.revoke(operator_id, role)
    if not n:
        raise HTTPException(404, f"no {role} token of {operator_id!r}")
    return {"revoked": n}


@router.post("/v1/regions/{region_id}/{action}", status_code=202,
             summary="Raise (alert), extend or cancel a region's alert by hand, with a reason (operator)")
async def region_command(request: Request, region_id: str, action: Literal["alert", "extend", "cancel"],
                         body: CommandIn, principal: Annotated[Principal, Depends(require("operator"))]):
    eng = request.app.state.engine
    if region_id not in eng.region_ids:
        raise HTTPException(404, f"no alert region {region_id!r} (see /v1/status/regions)")
    cmd = OperatorCommand(t=0.0, region=region_id, action=ACTIONS[action], user=principal.subject,
                          note=body.reason, duration_s=body.minutes * 60.0)
    try:
        seq, t = await run_in_threadpool(eng.command, cmd)
    except EngineError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"command": seq, "region": region_id, "action": ACTIONS[action], "user": principal.subject, "t": t,
            "applies_at": eng.rt.next_step,
            "audit": f"/v1/audit?region={region_id}"}


@router.get("/v1/audit", summary="The audit trail of operators' commands (operator), paginated")
def audit(request: Request, principal: Annotated[Principal, Depends(require("operator"))],
          region: Annotated[str | None, Query(max_length=64)] = None,
          since: Annotated[float | None, Query()] = None, until: Annotated[float | None, Query()] = None,
          cursor: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    return _page(request, "audit", region, since, until, cursor, limit)


#: The data clock moves at most this far per request, s (a night's close takes 4 h: run_file's CLOSE_MAX_S).
MAX_CLOCK_STEP_S = 6 * 3600.0


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    now: float = Field(description="move the data clock to this time, s since the epoch (never back)")
    until_idle: bool = Field(default=False, description="stop early once no track is left and every region is quiet")


@router.post("/v1/clock", summary="Data clock only: run the clock on without reports, e.g. to close a night (admin)")
async def set_clock(request: Request, body: ClockIn, principal: Annotated[Principal, Depends(require("admin"))]):
    s = request.app.state.settings
    if s.clock != "data":
        raise HTTPException(409, "the service runs on the wall clock; only a data clock can be moved")
    if not math.isfinite(body.now):
        raise HTTPException(422, "now must be a finite number")
    eng = request.app.state.engine
    now = eng.clock()
    if not math.isfinite(now):
        raise HTTPException(409, "the data clock has not started: no report has been accepted yet")
    if body.now > now + MAX_CLOCK_STEP_S:
        ahead = body.now - now
        said = f"{ahead:.0f}" if ahead < 1e12 else f"{ahead:.3g}"  # (not a 300-digit echo of 1e308)
        raise HTTPException(422, f"now is {said} s ahead of the clock; at most {MAX_CLOCK_STEP_S:.0f} "
                                 "s per request (every step in between is taken)")
    t = await run_in_threadpool(eng.advance_clock, body.now, body.until_idle)
    idle = await run_in_threadpool(eng.call, lambda rt: rt.idle())  # never block the event loop on the engine
    return {"now": eng.clock(), "last_step": t if math.isfinite(t) else None, "idle": idle}
