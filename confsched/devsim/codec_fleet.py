"""Simulated codecs for a fleet's codec rooms: build them, serve them, point the fleet at them.

Used by ``confsched demo`` and ``confsched simulate`` (and the benchmarks): every endpoint with
``codec: {driver, url}`` gets a simulated codec of that driver, the stored fleet points those
endpoints at the simulator, and the data directory's secrets file gets each codec's credentials
(a wrong password for the codecs listed in ``wrong_password``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from confsched.codecs.secrets import Credentials, write_secrets
from confsched.devsim.codec_server import CodecLab, start_lab
from confsched.devsim.codec_state import SimCodec
from confsched.domain.model import CodecAccess, Fleet
from confsched.services.inventory import require_fleet
from confsched.store.db import open_db
from confsched.store.inventory import save_fleet


@dataclass(frozen=True, slots=True)
class CodecFaults:
    """Standing faults of the simulated codecs (by endpoint id)."""

    camera_unplugged: frozenset[str] = frozenset()
    wrong_password: frozenset[str] = frozenset()
    in_call: Mapping[str, str] | None = None
    """endpoint → the remote it is in a call with."""


DEMO_FAULTS = CodecFaults(
    camera_unplugged=frozenset({"h-vo-nhai"}),
    wrong_password=frozenset({"so-tttt"}),
    in_call={"ioc": "sip:hop@mcu1.vc.thainguyen.gov.vn"},
)


def codecs_for(fleet: Fleet, faults: CodecFaults = CodecFaults()) -> list[SimCodec]:
    """One simulated codec per polled codec endpoint, registered to its home bridge."""
    out = []
    for endpoint in fleet.endpoints.values():
        if endpoint.codec is None:
            continue
        bridge = fleet.bridges.get(endpoint.bridge or "")
        codec = SimCodec(
            endpoint.id,
            endpoint.codec.driver,
            secrets.token_urlsafe(12),
            registrar=bridge.address if bridge and bridge.address else "sip.vc.example",
            remote=(faults.in_call or {}).get(endpoint.id, ""),
        )
        if endpoint.id in faults.camera_unplugged:
            codec.cameras = [False]
        out.append(codec)
    return out


def lab_credentials(lab: CodecLab, wrong_password: Iterable[str] = ()) -> dict[str, Credentials]:
    wrong = set(wrong_password)
    ca = str(lab.ca_file) if lab.ca_file else ""
    return {
        e: Credentials(c.username, "not-" + c.password if e in wrong else c.password, ca)
        for e, c in lab.codecs.items()
    }


async def attach_simulated_codecs(data_dir: Path, faults: CodecFaults = CodecFaults()) -> CodecLab:
    """Serve simulated codecs (HTTPS) for the stored fleet's codec rooms, point those rooms at
    them in the store (a running scheduler notices within a second) and write the secrets file.
    ``confsched rooms import`` of the real fleet file points them back."""
    fleet = await asyncio.to_thread(_stored_fleet, data_dir)
    lab = await start_lab(codecs_for(fleet, faults), tls_dir=data_dir / "simulated-codecs")
    write_secrets(data_dir, lab_credentials(lab, faults.wrong_password))
    await asyncio.to_thread(_save_pointed, data_dir, fleet, lab)
    return lab


def _stored_fleet(data_dir: Path) -> Fleet:
    db = open_db(data_dir)
    try:
        return require_fleet(db)
    finally:
        db.close()


def _save_pointed(data_dir: Path, fleet: Fleet, lab: CodecLab) -> None:
    endpoints = {
        e.id: replace(e, codec=CodecAccess(e.codec.driver, lab.url(e.id)))
        if e.codec is not None and e.id in lab.codecs
        else e
        for e in fleet.endpoints.values()
    }
    db = open_db(data_dir)
    try:
        save_fleet(db, replace(fleet, endpoints=endpoints))
    finally:
        db.close()
