"""The live terminal view of a night (rich): the clock, regions in alert, threats.

Fed after every step by :func:`airshield.runtime.run_file`'s ``on_step``; it
redraws at most ``fps`` times a second of wall time, so it costs the pipeline
next to nothing however fast the night runs.
"""

from __future__ import annotations

import math
import time
from collections import Counter

from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from airshield.model import format_time

_STATE_STYLE = {"alert": "bold white on red", "pre_alert": "black on yellow", "quiet": "dim"}
_CLASS_SYMBOL = {"drone": "✈ drone", "jet": "➤ jet", "cruise": "➶ cruise", "ballistic": "⇣ ballistic"}


class LiveView:
    """A rich Live display of a running night.

    Args:
        console: where to draw.
        title: shown at the top.
        total: number of reports in the night (for progress), or None.
        fps: redraws per second of wall time at most.
    """

    def __init__(self, console, title: str, total: int | None = None, fps: float = 4.0):
        self.console = console
        self.title = title
        self.total = total
        self.period = 1.0 / fps
        self._last = 0.0
        self._since: dict[str, float] = {}
        self._alerts = 0
        self._all_clears = 0
        self._t_start = time.perf_counter()
        self.live = Live(console=console, refresh_per_second=fps, transient=False)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.__exit__(*exc)

    def on_step(self, rt, res) -> None:
        """The runtime's ``on_step`` hook."""
        for e in res.alert_events:
            if e.event == "alert":
                self._alerts += 1
                self._since[e.region] = e.t
            elif e.event == "all_clear":
                self._all_clears += 1
                self._since.pop(e.region, None)
        now = time.perf_counter()
        if now - self._last >= self.period:
            self._last = now
            self.live.update(self.render(rt, res.now), refresh=True)

    def finish(self, rt) -> None:
        self.live.update(self.render(rt, rt.now), refresh=True)

    def render(self, rt, now: float):
        core = rt.core
        states = core.policy.states()
        regions = core.regions
        picture = core.picture
        table = picture.table()
        # Per region: threats driving it and the nearest earliest arrival.
        n_thr: Counter = Counter()
        eta: dict[int, float] = {}
        live = (table.expires >= now) & (table.t_last >= now)
        for reg, t_lo in zip(table.region[live].tolist(), table.t_lo[live].tolist(), strict=True):
            n_thr[reg] += 1
            eta[reg] = min(eta.get(reg, math.inf), t_lo)
        col = {r: i for i, r in enumerate(core.region_ids)}

        t = Table(title="Regions", expand=True, show_edge=False, pad_edge=False)
        t.add_column("region")
        t.add_column("state")
        t.add_column("for", justify="right")
        t.add_column("threats", justify="right")
        t.add_column("nearest", justify="right")
        rank = {"alert": 0, "pre_alert": 1, "quiet": 2}
        for rid in sorted(states, key=lambda r: (rank[states[r]], r)):
            st = states[rid]
            if st == "quiet" and not n_thr.get(col[rid]):
                continue
            since = self._since.get(rid)
            dur = f"{(now - since) / 60:.0f} min" if since is not None and st == "alert" else ""
            c = col[rid]
            e = eta.get(c)
            near = "" if e is None else ("inside" if e <= now else f"{(e - now) / 60:.0f} min")
            name = regions[rid].name if rid in regions else rid
            t.add_row(name, Text(st.replace("_", "-"), style=_STATE_STYLE[st]), dur, str(n_thr.get(c, 0)), near)

        n_alert = sum(1 for s in states.values() if s == "alert")
        n_pre = sum(1 for s in states.values() if s == "pre_alert")
        by_cls, lost = picture.counts(now)
        threats = ", ".join(f"{n} {_CLASS_SYMBOL[c]}" for c, n in sorted(by_cls.items())) or "none"
        tracks = core.tracker.tracks()
        confirmed = sum(1 for s in tracks if s.status in ("confirmed", "coasting"))
        done = rt.stats.reports
        head = Text.assemble(
            (f"{self.title}  ", "bold"), (format_time(math.floor(now)) if math.isfinite(now) else "", "cyan"),
            f"   reports {done:,}" + (f" / {self.total:,}" if self.total else ""),
            f"   wall {time.perf_counter() - self._t_start:.0f} s\n",
            ("regions in alert ", ""), (f"{n_alert}", "bold red"), ("   pre-alert ", ""), (f"{n_pre}", "bold yellow"),
            f"   alerts so far {self._alerts}, all-clears {self._all_clears}\n",
            f"threats predicted: {threats} ({lost} lost)   confirmed tracks {confirmed}",
        )
        return Panel(Group(head, t), title="airshield: early warning (never controls weapons)", border_style="blue")

