"""The push fan-out under load: N SSE subscribers while the service ingests a simulated night.

Issue #5: "1,000 concurrent SSE subscribers each receive every alert within 1 s
at the 99th percentile while the service ingests 2,000 reports/s."

What it does:

1. simulates the night (cached in ``bench/out/``, shared with bench_tracker.py);
2. starts ``airshield serve --clock data`` in a subprocess on a fresh data dir and
   registers the night's sensors (the feeder's tokens: gateways of acoustic nodes, radars, ...);
3. starts a subscriber process: N SSE connections to ``/v1/stream`` (alerts, the public
   default) on one asyncio loop (uvloop) with raw sockets;
4. posts the night's reports as NDJSON batches (one request per token and ``--slice`` of
   arrival time, in arrival order), paced to ``--rate`` reports/s;
5. per alert event and subscriber, measures the delay from the moment the engine published
   it (the ``: published=<s>`` comment the server puts on each live frame: wall clock of the
   same machine) to the moment the subscriber's socket read it;
6. prints p50 / p99 / max of those delays, the reports/s achieved, and drops: alert events of
   the log a subscriber never got, and subscribers cut off with ``event: overflow``.

All three processes (service, subscribers, feeder) share the machine's cores: on the
2-core machine the load generator takes CPU from the service.

``--slice``: a slice's requests (one per token) go out together and the next slice waits
for them. The default, 30 s of arrival time, makes requests big enough for 2,000
reports/s; the data clock then runs up to a slice ahead of some tokens' reports, which the
tracker takes as late reports, so the night's alerts differ a little from a faithful feed.
``--slice 5`` (the step) is faithful, with ~3 reports per request: on the 2-core machine
that reaches ~1,800 reports/s (the ingest path's cost per request, not the fan-out's).

    .venv/bin/python bench/bench_service.py                      # 1,000 subscribers, 2,000 reports/s, night-40
    .venv/bin/python bench/bench_service.py --subscribers 100 --max-reports 40000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "as_bench-admin-token-0123456789abcdefghijklmnopqrstuvwxyz"

# One live frame as the server writes it (push.py): the published comment, id, event name.
_FRAME = re.compile(rb": published=([0-9.]+)\nid: (\d+)\nevent: (\w+)\n")


# ------------------------------------------------------------- subscribers


class _Sub(asyncio.Protocol):
    """One SSE connection: records (id, delay s) of each alert frame; counts overflows."""

    def __init__(self, request: bytes, ready: asyncio.Event, counter: list[int], n: int):
        self.request, self.ready, self.counter, self.n = request, ready, counter, n
        self.buf = b""
        self.got: list[tuple[int, float]] = []
        self.connected = False
        self.overflow = False
        self.closed = False
        self.tracks = 0

    def connection_made(self, transport):
        transport.write(self.request)

    def data_received(self, data: bytes):
        now = time.time()
        buf = self.buf + data
        end = buf.rfind(b"\n\n")
        if end < 0:
            self.buf = buf
            return
        head, self.buf = buf[: end + 2], buf[end + 2:]
        if not self.connected and b": connected" in head:
            self.connected = True
            self.counter[0] += 1
            if self.counter[0] >= self.n:
                self.ready.set()
        for m in _FRAME.finditer(head):
            if m.group(3) == b"alert":
                self.got.append((int(m.group(2)), now - float(m.group(1))))
            else:
                self.tracks += 1
        if b"event: overflow" in head:
            self.overflow = True

    def connection_lost(self, exc):
        self.closed = True


async def _subscribers(host: str, port: int, n: int, viewers: int, viewer_token: str, out: Path) -> None:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    counter = [0]
    req = f"GET /v1/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    vreq = (f"GET /v1/stream?kinds=alert,track HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {viewer_token}\r\n\r\n").encode()
    subs = []
    for i in range(n):
        sub = _Sub(vreq if i < viewers else req, ready, counter, n)
        await loop.create_connection(lambda s=sub: s, host, port)
        subs.append(sub)
        if i % 100 == 99:
            await asyncio.sleep(0)  # let the server answer as we go
    await asyncio.wait_for(ready.wait(), 120)
    print("ready", flush=True)
    # Wait for "stop" on stdin (the feeder is done), then write what each subscriber got.
    await loop.run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(0.5)
    out.write_text(json.dumps({
        "subscribers": [{"got": s.got, "overflow": s.overflow, "closed": s.closed, "tracks": s.tracks}
                        for s in subs]}))
    print("done", flush=True)


def subscriber_main(args) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_subscribers(args.host, args.port, args.subscribers, args.viewers, args.viewer_token,
                             Path(args.out)))


# ------------------------------------------------------------------ service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _night_dir(scenario: str, seed: int | None) -> Path:
    """The night, simulated once and cached in bench/out/ (shared with bench_tracker.py, same key)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_tracker import night_dir

    return night_dir(scenario, seed)


def _start_service(data: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "AIRSHIELD_ADMIN_TOKEN": ADMIN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "airshield.cli", "serve", "--port", str(port), "--data", str(data), "--clock", "data",
         "--rate", "0", "--cap-status", "Exercise", "--log-level", "warning"],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 180:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the service did not start")


def _feed(url: str, night, tokens: dict[str, str], rate: float, slice_s: float, max_reports: int | None,
          concurrency: int) -> dict:
    """Post the night slice by slice in arrival order, paced to ``rate`` reports/s; returns what was done.

    A slice's requests (one per token) go out on ``concurrency`` connections at once, and
    the next slice waits for them: the data clock never runs ahead by more than a slice.
    """
    from concurrent.futures import ThreadPoolExecutor
    from itertools import groupby

    from airshield.server import feeder

    local = threading.local()

    def post(req) -> int:
        c = getattr(local, "client", None)
        if c is None:
            c = local.client = httpx.Client(base_url=url, timeout=120)
        body = b"\n".join(night.lines[i] for i in req.idx) + b"\n"
        r = c.post("/v1/ingest", content=body, headers={
            "Authorization": f"Bearer {req.token}", "Content-Type": "application/x-ndjson",
            "Idempotency-Key": req.key})
        r.raise_for_status()
        return r.json()["accepted"]

    sent = accepted = requests = 0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _, reqs in groupby(feeder.plan(night, tokens, slice_s), key=lambda q: q.slice):
            if max_reports is not None and sent >= max_reports:
                break
            reqs = list(reqs)
            wait = sent / rate - (time.perf_counter() - t0)
            if wait > 0:
                time.sleep(wait)
            accepted += sum(pool.map(post, reqs))
            sent += sum(len(q.idx) for q in reqs)
            requests += len(reqs)
    wall = time.perf_counter() - t0
    return {"sent": sent, "accepted": accepted, "requests": requests, "wall_s": wall}


def _alert_ids(data: Path) -> list[int]:
    db = sqlite3.connect(f"file:{data / 'events.sqlite'}?mode=ro", uri=True)
    try:
        return [int(s) for (s,) in db.execute("SELECT seq FROM events WHERE kind = 'alert' ORDER BY seq")]
    finally:
        db.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=2000.0, help="reports/s to ingest")
    ap.add_argument("--scenario", default="night-40")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--night", type=Path, default=None, help="a night directory (default: simulate --scenario)")
    ap.add_argument("--slice", type=float, default=30.0,
                    help="arrival time per request and token, s (a multiple of the 5 s step)")
    ap.add_argument("--viewers", type=int, default=0,
                    help="how many of the subscribers also stream tracks (a viewer token)")
    ap.add_argument("--viewer-token", default="", help=argparse.SUPPRESS)
    ap.add_argument("--concurrency", type=int, default=4, help="connections posting a slice's requests")
    ap.add_argument("--max-reports", type=int, default=None, help="stop after this many reports")
    ap.add_argument("--json", action="store_true", help="print the result as JSON too")
    ap.add_argument("--role", default="bench", help=argparse.SUPPRESS)
    ap.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.subscribers + 1024)), hard))
    if args.role == "subscribers":
        subscriber_main(args)
        return

    from airshield.server import feeder

    night_dir = args.night or _night_dir(args.scenario, args.seed)
    night = feeder.load_night(night_dir)
    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    svc = _start_service(tmp / "data", port, tmp / "service.log")
    subs = None
    try:
        with httpx.Client(base_url=url, timeout=120) as c:
            tokens = feeder.register_night(c, ADMIN, night.sensors)
            viewer = c.post("/v1/operators", json={"id": "bench-viewer", "role": "viewer"},
                            headers={"Authorization": f"Bearer {ADMIN}"}).json()["token"]
        out = tmp / "subscribers.json"
        subs = subprocess.Popen([sys.executable, __file__, "--role", "subscribers", "--port", str(port),
                                 "--subscribers", str(args.subscribers), "--viewers", str(args.viewers),
                                 "--viewer-token", viewer, "--out", str(out)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        t_conn = time.perf_counter()
        line = subs.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"the subscribers did not connect ({line!r})")
        connect_s = time.perf_counter() - t_conn
        print(f"{args.subscribers} subscribers connected in {connect_s:.1f} s; feeding {night_dir.name} "
              f"at {args.rate:g} reports/s ...", flush=True)
        cpu0 = (_cpu_s(svc.pid), _cpu_s(subs.pid), time.process_time())
        fed = _feed(url, night, tokens, args.rate, args.slice, args.max_reports, args.concurrency)
        cpu1 = (_cpu_s(svc.pid), _cpu_s(subs.pid), time.process_time())
        time.sleep(2.0)  # the last steps' alerts
        with httpx.Client(base_url=url, timeout=30) as c:
            metrics = c.get("/metrics").text
        subs.stdin.write("stop\n")
        subs.stdin.flush()
        subs.stdout.readline()
        subs.wait(60)
        result = json.loads(out.read_text())
    finally:
        if subs is not None and subs.poll() is None:
            subs.kill()
        svc.send_signal(signal.SIGINT)
        try:
            svc.wait(30)
        except subprocess.TimeoutExpired:
            svc.kill()

    alert_ids = set(_alert_ids(tmp / "data"))
    delays, drops, overflows, dups = [], 0, 0, 0
    for s in result["subscribers"]:
        ids = [i for i, _ in s["got"]]
        delays += [d for _, d in s["got"]]
        drops += len(alert_ids - set(ids))
        dups += len(ids) - len(set(ids))
        overflows += bool(s["overflow"])
    d = np.array(delays) * 1000.0
    summary = {
        "machine": f"{os.cpu_count()} cores",
        "subscribers": args.subscribers,
        "night": night_dir.name,
        "reports_sent": fed["sent"],
        "reports_accepted": fed["accepted"],
        "requests": fed["requests"],
        "feed_wall_s": round(fed["wall_s"], 1),
        "reports_per_s": round(fed["accepted"] / fed["wall_s"], 0),
        "alert_events": len(alert_ids),
        "deliveries": int(d.size),
        "delay_ms_p50": round(float(np.percentile(d, 50)), 1) if d.size else None,
        "delay_ms_p99": round(float(np.percentile(d, 99)), 1) if d.size else None,
        "delay_ms_max": round(float(d.max()), 1) if d.size else None,
        "within_1s": round(float((d <= 1000).mean()), 5) if d.size else None,
        "missed": drops,
        "duplicates": dups,
        "overflow_disconnects": overflows,
        "connect_s": round(connect_s, 1),
        "cpu_s": {"service": round(cpu1[0] - cpu0[0], 1), "subscribers": round(cpu1[1] - cpu0[1], 1),
                  "feeder": round(cpu1[2] - cpu0[2], 1)},
    }
    print(f"machine: {summary['machine']} (service, {args.subscribers} subscribers and the feeder share them)")
    print(f"ingest: {fed['accepted']:,} reports in {fed['wall_s']:.1f} s = {summary['reports_per_s']:,.0f} reports/s "
          f"({fed['requests']:,} requests, target {args.rate:g})")
    print(f"alerts: {len(alert_ids)} alert events x {args.subscribers} subscribers = {d.size:,} deliveries")
    if d.size:
        print(f"delay publish -> subscriber: p50 {summary['delay_ms_p50']} ms, p99 {summary['delay_ms_p99']} ms, "
              f"max {summary['delay_ms_max']} ms; within 1 s: {100 * summary['within_1s']:.3f} %")
    if args.viewers:
        tracks = [s["tracks"] for s in result["subscribers"][: args.viewers]]
        print(f"tracks: {args.viewers} of the subscribers also streamed tracks: {min(tracks):,} to {max(tracks):,} "
              f"track events each")
    print(f"drops: {drops} missed deliveries, {dups} duplicates, {overflows} subscribers cut off (overflow)")
    print(f"CPU during the feed: service {summary['cpu_s']['service']} s, subscribers "
          f"{summary['cpu_s']['subscribers']} s, feeder {summary['cpu_s']['feeder']} s "
          f"over {fed['wall_s']:.1f} s wall")
    pushed = [line for line in metrics.splitlines() if line.startswith("airshield_push_")]
    print("service metrics at the end: " + "; ".join(pushed))
    if args.json:
        print(json.dumps(summary))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
