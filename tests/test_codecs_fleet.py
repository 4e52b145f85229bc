"""The fleet file's ``codec: {driver, url}``: parsed, stored, and every mistake refused by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from confsched.domain.model import CODEC_DRIVERS, CodecAccess, Fleet
from confsched.errors import FleetInvalid
from confsched.fleetfile import parse_fleet_text
from confsched.services.inventory import import_fleet
from confsched.store.db import open_db
from confsched.store.inventory import load_fleet

HEAD = """\
fleet: {name: Tỉnh Thử, timezone: Asia/Ho_Chi_Minh}
bridges:
  - {id: mcu-1, name: MCU 1, ports: 10}
agencies:
  - {id: ubnd, name: Ủy ban nhân dân}
sites:
  - {id: tinh, name: Tỉnh, level: province}
endpoints:
"""
CODEC = "  - {id: ep-a, name: Phòng A, site: tinh, agency: ubnd, kind: codec, codec: %s}\n"


def test_codec_access_is_parsed_and_survives_the_store(tmp_path: Path) -> None:
    text = HEAD + CODEC % '{driver: cisco-xapi, url: "https://10.1.2.3:8443/"}'
    fleet = parse_fleet_text(text, "f.yaml")
    assert fleet.endpoints["ep-a"].codec == CodecAccess("cisco-xapi", "https://10.1.2.3:8443")
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    db = open_db(tmp_path)
    import_fleet(db, path)
    stored = load_fleet(db)
    db.close()
    assert stored is not None and stored.endpoints["ep-a"].codec == fleet.endpoints["ep-a"].codec


def test_every_sample_codec_room_is_polled_by_a_known_driver(sample_fleet: Fleet) -> None:
    codecs = [e for e in sample_fleet.endpoints.values() if e.kind == "codec"]
    assert len(codecs) == 14
    assert all(e.codec is not None and e.codec.driver in CODEC_DRIVERS for e in codecs)
    assert {e.codec.driver for e in codecs if e.codec} == set(CODEC_DRIVERS)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{driver: huawei-te, url: https://x}", "codec driver 'huawei-te' must be one of"),
        ("{driver: cisco-xapi}", "codec must be a map with exactly driver and url"),
        ("{driver: cisco-xapi, url: https://x, password: p}", "exactly driver and url"),
        ("cisco-xapi", "codec must be a map"),
        ('{driver: poly-rest, url: "https://admin:pw@10.0.0.1"}', "with no credentials"),
        ("{driver: poly-rest, url: ftp://10.0.0.1}", "must be http(s)://HOST"),
    ],
)
def test_bad_codec_entries_are_refused_with_their_line(value: str, message: str) -> None:
    with pytest.raises(FleetInvalid) as caught:
        parse_fleet_text(HEAD + CODEC % value, "f.yaml")
    text = str(caught.value)
    assert "f.yaml:9:" in text and message in text


def test_codec_access_on_a_pc_room_is_refused() -> None:
    line = "  - {id: ep-a, name: A, site: tinh, agency: ubnd, codec: {driver: poly-rest, url: http://x}}\n"
    with pytest.raises(FleetInvalid, match=r"f.yaml:9: codec: is only for endpoints of kind codec"):
        parse_fleet_text(HEAD + line, "f.yaml")
