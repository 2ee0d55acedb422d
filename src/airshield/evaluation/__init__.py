"""Evaluation: every metric of ``shared/docs/metrics.md``, from truth and a run's outputs.

Two layers:

* pure metric functions on arrays in the theatre's metric frame, one module
  per concept: :mod:`.gospa`, :mod:`.association` (tracks ↔ truths over time:
  continuity, RMSE, false tracks, classes, time to confirm),
  :mod:`.crossings` (region entries), :mod:`.warning` (lead times, missed
  entries, on-time share, over-warning), :mod:`.intervals`, :mod:`.sampling`;
* a file layer: :mod:`.io` (NDJSON readers), :mod:`.evaluate` (glue),
  :mod:`.report` (plots + report.md), :mod:`.table` (console table).

Example::

    from airshield.evaluation import evaluate_run
    metrics = evaluate_run("truth.ndjson", "run/")   # regions and frame from airshield.geo
"""

from .crossings import Entry, find_entries
from .evaluate import (
    METRIC_KEYS,
    Evaluation,
    evaluate,
    evaluate_files,
    evaluate_run,
    geo_regions_loader,
)
from .gospa import GospaResult, gospa
from .intervals import AlertInterval, alert_intervals
from .io import EvaluationInputError, read_alerts, read_tracks, read_truth
from .warning import WarningResult, score_warning, warning_metrics

__all__ = [
    "METRIC_KEYS",
    "AlertInterval",
    "Entry",
    "Evaluation",
    "EvaluationInputError",
    "GospaResult",
    "WarningResult",
    "alert_intervals",
    "evaluate",
    "evaluate_files",
    "evaluate_run",
    "find_entries",
    "geo_regions_loader",
    "gospa",
    "read_alerts",
    "read_tracks",
    "read_truth",
    "score_warning",
    "warning_metrics",
]
