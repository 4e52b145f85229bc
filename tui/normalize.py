"""Answers from the scheduler brought to the shapes of ``docs/api.md``.

The contract is what the screens read. A scheduler built before or after a change of detail
(``id`` for ``endpoint`` in a health entry, ``time`` for ``at`` in history, readiness as
``{ready, total, not_ready: [..]}``) still shows correctly: each function accepts both forms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]
COUNT_KEYS = ("ready", "not_ready", "no_answer", "pending")


def health_entry(entry: Mapping[str, Any]) -> JSON:
    out = dict(entry)
    out["endpoint"] = str(entry.get("endpoint") or entry.get("id") or "")
    out["state"] = str(entry.get("state") or "unknown")
    out["reasons"] = list(entry.get("reasons") or [])
    out["checks"] = dict(entry.get("checks") or {})
    return out


def fleet_health(body: Mapping[str, Any]) -> JSON:
    entries = [health_entry(e) for e in body.get("endpoints") or []]
    counts = Counter(e["state"] for e in entries)
    return {**body, "endpoints": entries, "counts": dict(body.get("counts") or counts)}


def history_point(point: Mapping[str, Any]) -> JSON:
    at = point.get("at") or point.get("time") or point.get("received_at")
    return {**point, "at": at}


def endpoint_health(body: Mapping[str, Any]) -> JSON:
    out = health_entry(body)
    points = [history_point(p) for p in body.get("history") or []]
    out["history"] = sorted(points, key=lambda p: str(p.get("at") or ""))
    return out


def readiness_counts(readiness: Mapping[str, Any] | None) -> JSON | None:
    """``{ready, not_ready, no_answer, pending, total}`` from either form; None if unchecked."""
    if not readiness:
        return None
    if isinstance(readiness.get("summary"), Mapping):
        readiness = readiness["summary"]
    listed = readiness.get("not_ready")
    if isinstance(listed, list):
        by_status = Counter(str(r.get("status") or "not_ready") for r in listed)
        counts = {key: by_status.get(key, 0) for key in COUNT_KEYS[1:]}
        counts["ready"] = int(readiness.get("ready") or 0)
    else:
        counts = {key: int(readiness.get(key) or 0) for key in COUNT_KEYS}
    counts["total"] = int(readiness.get("total") or sum(counts.values()))
    return counts if counts["total"] else None


def readiness(body: Mapping[str, Any]) -> JSON:
    """``{summary, occurrence, endpoints: [{endpoint, endpoint_name, status, reasons, at}]}``."""
    if "endpoints" in body and "summary" in body:
        rows = [_readiness_row(r) for r in body.get("endpoints") or []]
        return {**body, "summary": readiness_counts(body), "endpoints": rows}
    rows = [_readiness_row(r) for r in body.get("not_ready") or []]
    occurrence = body.get("occurrence") or body.get("recurrence_id")
    return {"summary": readiness_counts(body), "occurrence": occurrence, "endpoints": rows}


def _readiness_row(row: Mapping[str, Any]) -> JSON:
    reasons = row.get("reasons")
    if reasons is None:
        reasons = [row["reason"]] if row.get("reason") else []
    return {**row, "status": str(row.get("status") or "pending"), "reasons": list(reasons)}


def session(body: Mapping[str, Any]) -> JSON:
    return {**body, "readiness": readiness_counts(body.get("readiness"))}
