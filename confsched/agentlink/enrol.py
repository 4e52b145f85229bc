"""Enrolment: a new key pair for an endpoint's agent, and that agent's configuration.

It lives with the agent link (not in ``confsched.services``) because it makes SSH keys and
writes the agent's own configuration type: services never import an adapter or the agent.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlite_utils
from confsched_agent.config import AgentConfig

from confsched.agentlink.keys import ensure_host_key, new_agent_key, public_text
from confsched.domain.model import Fleet
from confsched.errors import NotFound
from confsched.store.health import enroll_key
from confsched.store.inventory import load_fleet


def enroll(
    db: sqlite_utils.Database, data_dir: Path, endpoint: str, scheduler: str, now: datetime
) -> AgentConfig:
    """Give ``endpoint`` a new key pair (replacing any old one) and its agent's configuration.

    The private key stays in the data directory (mode 600) until the operator copies it to the
    endpoint; the public half goes to the store, where the SSH server reads it at each login.
    """
    fleet = load_fleet(db)
    if fleet is None or endpoint not in fleet.endpoints:
        raise NotFound("endpoint", endpoint)
    host_key = public_text(ensure_host_key(data_dir))
    key_path, public = new_agent_key(data_dir, endpoint)
    enroll_key(db, endpoint, public, now)
    return AgentConfig(
        endpoint=endpoint,
        scheduler=scheduler,
        key=key_path.resolve(),
        host_key=host_key,
        interval=fleet.report_interval.total_seconds(),
        spool=(data_dir / "agent-spool" / endpoint).resolve(),
        bridge=home_bridge_address(fleet, endpoint),
        client_process=fleet.endpoints[endpoint].client_process,
    )


BRIDGE_PROBE_PORT = 5060
"""The port the agent's network probe connects to on its home bridge: SIP over TCP, which every
bridge of the sample answers on (a bridge's ``address`` in the fleet file is a host name)."""


def home_bridge_address(fleet: Fleet, endpoint: str) -> str:
    """``HOST:PORT`` of the endpoint's home bridge for the agent's network probe ("" if it has
    none, or its bridge has no address; an ``address`` that already names a port is kept)."""
    bridge = fleet.bridges.get(fleet.endpoints[endpoint].bridge or "")
    if bridge is None or not bridge.address:
        return ""
    _host, sep, port = bridge.address.rpartition(":")
    if sep and (port.isascii() and port.isdigit()):
        return bridge.address
    return f"{bridge.address}:{BRIDGE_PROBE_PORT}"
