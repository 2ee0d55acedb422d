"""Helpers of the service's tests: a service in a subprocess (:class:`Service`), an in-process one
(:func:`make_api`), the known admin token. The fixtures (conftest.py) use them; tests import them
with ``from servicekit import ...`` (tests/server is on sys.path, pytest's default import mode).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from airshield.server import feeder
from airshield.server.settings import Settings

ADMIN = "as_test-admin-token-0123456789abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """A service in a subprocess (see module doc)."""

    data: Path
    port: int
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    admin: str = ADMIN
    operator: str = ""
    viewer: str = ""
    sensor_tokens: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> Service:
        env = {**os.environ, "AIRSHIELD_ADMIN_TOKEN": self.admin, "PYTHONUNBUFFERED": "1"}
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data.parent / f"{self.data.name}-service.log"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airshield.cli", "serve", "--port", str(self.port), "--data", str(self.data),
             *self.args], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited ({self.proc.returncode}): {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the service did not start in {timeout} s: {self.log_path.read_text()[-3000:]}")

    def client(self, token: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 60.0), **kw)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> Service:
        self.kill()
        return self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def setup_tokens(self, night_dir: Path) -> Service:
        """Register the night's sensors and make an operator and a viewer token."""
        with self.client(self.admin) as c:
            night = feeder.load_night(night_dir)
            self.sensor_tokens = feeder.register_night(c, self.admin, night.sensors)
            self.operator = c.post("/v1/operators", json={"id": "duty-officer", "role": "operator"}).json()["token"]
            self.viewer = c.post("/v1/operators", json={"id": "analyst", "role": "viewer"}).json()["token"]
        return self

    def feed(self, night: feeder.Night, **kw) -> feeder.FeedStats:
        with self.client() as c:
            return feeder.feed(c, night, self.sensor_tokens, **kw)


def start_service(tmp_path: Path, night_dir: Path | None, *args: str) -> Service:
    """A started service on a free port with data in ``tmp_path/data`` (tokens set up for ``night_dir``)."""
    svc = Service(tmp_path / "data", free_port(), ["--clock", "data", "--rate", "0", "--cap-status", "Exercise",
                                                    "--log-level", "info", *args]).start()
    if night_dir is not None:
        svc.setup_tokens(night_dir)
    return svc


@dataclass
class Api:
    """An in-process service: ``client`` (TestClient), ``app``, tokens like :class:`Service`."""

    client: object
    app: object
    admin: str
    operator: str
    viewer: str
    sensor_tokens: dict[str, str]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def engine(self):
        return self.app.state.engine


def make_api(tmp_path: Path, night_dir: Path, **settings) -> tuple[object, Api]:
    from fastapi.testclient import TestClient

    from airshield.server.app import create_app

    s = Settings(**{"data_dir": tmp_path / "data", "admin_token": ADMIN, "clock": "data", "cap_status": "Exercise",
                    "rate_per_s": None, **settings})
    app = create_app(s)
    client = TestClient(app)
    client.__enter__()
    night = feeder.load_night(night_dir)
    h = {"Authorization": f"Bearer {ADMIN}"}
    tokens = feeder.register_night(client, ADMIN, night.sensors)
    op = client.post("/v1/operators", json={"id": "duty-officer", "role": "operator"}, headers=h).json()["token"]
    vw = client.post("/v1/operators", json={"id": "analyst", "role": "viewer"}, headers=h).json()["token"]
    return client, Api(client, app, ADMIN, op, vw, tokens)
