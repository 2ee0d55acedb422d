"""Bearer tokens and roles: the FastAPI dependencies :func:`require` and :func:`optional`.

Roles (docs/service.md, "Auth"):

* ``sensor``: ingest reports for the sensors registered with that token;
* ``viewer``: full-precision tracks (the public view is delayed and coarsened);
* ``operator``: raise / extend / cancel alerts by hand; everything a viewer may;
* ``admin``: register sensors and operators, manage webhooks; everything an operator may.

Tokens are stored as sha256 digests (:mod:`.state`); a token is never logged
(:mod:`.logs` drops the Authorization header and redacts ``token`` fields).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from airshield.server.state import Principal

#: Which roles include which (a sensor token is for ingest only).
IMPLIES = {
    "admin": {"admin", "operator", "viewer"},
    "operator": {"operator", "viewer"},
    "viewer": {"viewer"},
    "sensor": {"sensor"},
}

_bearer = HTTPBearer(auto_error=False, description="a token from POST /v1/sensors, /v1/operators or the admin's")


def _principal(request: Request, cred: HTTPAuthorizationCredentials | None) -> Principal | None:
    if cred is None:
        return None
    p = request.app.state.server.principal(cred.credentials)
    if p is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return p


def require(role: str):
    """A dependency: the request's principal, which must hold ``role`` (401 without a token, 403 without the role)."""

    def dep(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
        p = _principal(request, cred)
        if p is None:
            raise HTTPException(401, f"this needs a bearer token with the {role} role",
                                headers={"WWW-Authenticate": "Bearer"})
        if role not in IMPLIES.get(p.role, set()):
            raise HTTPException(403, f"{_article(p.role)} {p.role} token may not do this (needs {role})")
        request.state.principal = p
        return p

    dep.__name__ = f"require_{role}"
    return dep


def optional(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal | None:
    """A dependency: the principal if a (valid) token was given, else None (public access)."""
    p = _principal(request, cred)
    request.state.principal = p
    return p


def has(p: Principal | None, role: str) -> bool:
    return p is not None and role in IMPLIES.get(p.role, set())


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
