"""Answers from the scheduler (the shapes of ``docs/api.md``) with defaults filled in, so the
screens never test for a missing key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]
COUNT_KEYS = ("ready", "not_ready", "no_answer", "pending")


def health_entry(entry: Mapping[str, Any]) -> JSON:
    out = dict(entry)
    out["endpoint"] = str(entry.get("endpoint") or "")
    out["state"] = str(entry.get("state") or "unknown")
    out["reasons"] = list(entry.get("reasons") or [])
    out["checks"] = dict(entry.get("checks") or {})
    return out


def fleet_health(body: Mapping[str, Any]) -> JSON:
    entries = [health_entry(e) for e in body.get("endpoints") or []]
    counts = Counter(e["state"] for e in entries)
    return {**body, "endpoints": entries, "counts": dict(body.get("counts") or counts)}


def endpoint_health(body: Mapping[str, Any]) -> JSON:
    out = health_entry(body)
    out["history"] = sorted(body.get("history") or [], key=lambda p: str(p.get("at") or ""))
    return out


def readiness_counts(readiness: Mapping[str, Any] | None) -> JSON | None:
    """``{ready, not_ready, no_answer, pending, total}`` (a session's, or a readiness answer's
    ``summary``); None if not checked yet."""
    if not readiness:
        return None
    if isinstance(readiness.get("summary"), Mapping):
        readiness = readiness["summary"]
    counts = {key: int(readiness.get(key) or 0) for key in COUNT_KEYS}
    counts["total"] = int(readiness.get("total") or sum(counts.values()))
    return counts if counts["total"] else None


def readiness(body: Mapping[str, Any]) -> JSON:
    """``{summary, occurrence, endpoints: [{endpoint, endpoint_name, status, reasons, at}]}``."""
    rows = [
        {**r, "status": str(r.get("status") or "pending"), "reasons": list(r.get("reasons") or [])}
        for r in body.get("endpoints") or []
    ]
    return {**body, "summary": readiness_counts(body), "endpoints": rows}


def session(body: Mapping[str, Any]) -> JSON:
    return {**body, "readiness": readiness_counts(body.get("readiness"))}
