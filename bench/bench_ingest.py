"""Ingest throughput over HTTP (docs/service.md, "Numbers"): a night's reports, per-token NDJSON batches.

Usage::

    .venv/bin/airshield simulate night-40 --out /tmp/n40 -q
    .venv/bin/python bench/bench_ingest.py /tmp/n40 BATCH CLIENTS [wall|data]

Starts ``airshield serve`` in a subprocess (no rate limit), registers the night's sensors, posts
every report once from CLIENTS threads in batches of BATCH reports of one token, and prints one
JSON line. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "server"))  # the service fixtures
from servicekit import Service, free_port  # noqa: E402

from airshield.server import feeder  # noqa: E402


def main(night_dir: str, batch: int, clients: int, clock: str = "wall") -> dict:
    d = Path(tempfile.mkdtemp(prefix="airshield-bench-"))
    # The age limit is lifted: on the wall clock a simulated night was measured long ago
    # (the service stamps its arrival now), and on the data clock the per-token batches
    # run the clock up to an hour ahead of other tokens' reports. This measures ingest,
    # not the refusal of stale reports.
    age = ["--max-report-age-s", "1e12"]
    svc = Service(d / "data", free_port(), ["--clock", clock, "--rate", "0", "--log-level", "warning", *age]).start()
    try:
        night = feeder.load_night(night_dir)
        with svc.client(svc.admin) as c:
            tokens = feeder.register_night(c, svc.admin, night.sensors)
        by: dict[str, list[int]] = {}
        for i, s in enumerate(night.sensor):
            by.setdefault(tokens[s], []).append(i)
        reqs = sorted(((tok, idx[k:k + batch]) for tok, idx in by.items() for k in range(0, len(idx), batch)),
                      key=lambda r: r[1][0])
        lat: list[float] = []
        taken = {"accepted": 0, "duplicates": 0, "rejected": 0}
        lock = threading.Lock()
        it = iter(reqs)

        def worker() -> None:
            with httpx.Client(base_url=svc.url, timeout=60) as c:
                while True:
                    with lock:
                        r = next(it, None)
                    if r is None:
                        return
                    tok, idx = r
                    t = time.perf_counter()
                    resp = c.post("/v1/ingest", content=b"\n".join(night.lines[i] for i in idx),
                                  headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/x-ndjson"})
                    dt = time.perf_counter() - t
                    assert resp.status_code in (200, 409), resp.text[:200]
                    body = resp.json()
                    with lock:
                        lat.append(dt)
                        taken["accepted"] += body.get("accepted", 0)
                        taken["duplicates"] += body.get("duplicates", 0)
                        taken["rejected"] += len(body.get("rejected", ()))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        return {"batch": batch, "clients": clients, "clock": clock, "reports": len(night), **taken,
                "requests": len(reqs),
                "wall_s": round(wall, 1), "reports_per_s": round(len(night) / wall),
                "requests_per_s": round(len(reqs) / wall), "p50_ms": round(1000 * np.percentile(lat, 50), 1),
                "p99_ms": round(1000 * np.percentile(lat, 99), 1)}
    finally:
        svc.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])))
