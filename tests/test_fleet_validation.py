"""Every refusal of the fleet validator, word for word and on its line, and every setting it reads.

The messages are what an operator reads to mend a fleet file, so the test pins them exactly: a
changed word, a lost line number or a problem reported twice fails here, not in a user's terminal.
Pure: the text goes through ``parse_fleet_text`` (YAML to located data) into the domain's
``build_fleet``; no store.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from confsched.domain.inventory import build_fleet
from confsched.domain.located import LocatedList
from confsched.domain.model import DEFAULT_LEVELS, EndpointKind
from confsched.domain.stages import DEFAULT_STAGES
from confsched.errors import FleetInvalid
from confsched.fleetfile import parse_fleet_text
from tests.test_fleetfile import GOOD

BASE = GOOD  # the small fleet the fleet-file tests use
TZ = "  timezone: Asia/Ho_Chi_Minh\n"
EP = "agency: ubnd, bridge: mcu-1}"

REFUSED: list[tuple[str, str, str, list[tuple[int, str]]]] = [
    # (what, text of BASE replaced, by, every problem as (line, message))
    (
        "no fleet header",
        "fleet:\n  name: Tỉnh Thử\n  timezone: Asia/Ho_Chi_Minh\n",
        "",
        [(1, "missing 'fleet:' mapping (name, timezone)")],
    ),
    (
        "fleet header a list",
        "fleet:\n  name: Tỉnh Thử\n  timezone: Asia/Ho_Chi_Minh\n",
        "fleet: [a]\n",
        [(1, "missing 'fleet:' mapping (name, timezone)")],
    ),
    (
        "unknown fleet key",
        TZ,
        TZ + "  colour: red\n",
        [
            (
                4,
                "unknown key 'colour' in fleet (allowed: client, health_history, language, "
                "levels, name, readiness_stages, report_interval, timezone, working_hours)",
            )
        ],
    ),
    ("blank fleet name", "  name: Tỉnh Thử", "  name: '  '", [(2, "name must not be empty")]),
    (
        "fleet name too long",
        "  name: Tỉnh Thử",
        "  name: '" + "x" * 201 + "'",
        [(2, "name is 201 characters (at most 200)")],
    ),
    (
        "name a list",
        "  name: Tỉnh Thử",
        "  name: [a]",
        [(2, "'name' must be text"), (2, "name must not be empty")],
    ),
    (
        "interval bad",
        TZ,
        TZ + "  report_interval: soon\n",
        [(4, "report_interval 'soon' must look like 10s, 1m")],
    ),
    (
        "interval bool",
        TZ,
        TZ + "  report_interval: true\n",
        [(4, "report_interval True must look like 10s, 1m")],
    ),
    (
        "interval zero",
        TZ,
        TZ + "  report_interval: 0s\n",
        [(4, "report_interval '0s' must be from 1s to 1h")],
    ),
    (
        "interval too long",
        TZ,
        TZ + "  report_interval: 61m\n",
        [(4, "report_interval '61m' must be from 1s to 1h")],
    ),
    (
        "levels not a list",
        TZ,
        TZ + "  levels: province\n",
        [(4, "levels must be a list of 1 to 8 names, top-down: [province, commune]")],
    ),
    (
        "levels empty",
        TZ,
        TZ + "  levels: []\n",
        [(4, "levels must be a list of 1 to 8 names, top-down: [province, commune]")],
    ),
    (
        "nine levels",
        TZ,
        TZ + "  levels: [a, b, c, d, e, f, g, h, i]\n",
        [(4, "levels must be a list of 1 to 8 names, top-down: [province, commune]")],
    ),
    (
        "level twice",
        TZ,
        TZ + "  levels: [province, district, commune, commune]\n",
        [(4, "level 'commune' is declared twice")],
    ),
    (
        "level not a slug",
        TZ,
        TZ + "  levels: [province, District, commune]\n",
        [
            (4, "level 'District' must be a slug such as commune"),
            (11, "level 'district' is not declared (levels: province, commune)"),
        ],
    ),
    (
        "level clashes",
        TZ,
        TZ + "  levels: [province, district, commune, tag]\n",
        [(4, "level 'tag' would clash with the selector 'tag:'")],
    ),
    (
        "hours not a map",
        TZ,
        TZ + "  working_hours: always\n",
        [(4, "working_hours must be a mapping of days, start, end")],
    ),
    (
        "hours unknown key",
        "  timezone: Asia/Ho_Chi_Minh\n",
        "  timezone: Asia/Ho_Chi_Minh\n  working_hours:\n    lunch: '12:00'\n",
        [(5, "unknown key 'lunch' in working_hours")],
    ),
    (
        "hours start after end",
        "  timezone: Asia/Ho_Chi_Minh\n",
        "  timezone: Asia/Ho_Chi_Minh\n  working_hours:\n    start: '18:00'\n    end: '08:00'\n",
        [(5, "working_hours start must be before end")],
    ),
    (
        "hours bad clock",
        TZ,
        TZ + "  working_hours:\n    start: noon\n",
        [(5, "start 'noon' must be a time such as \"07:30\"")],
    ),
    (
        "hours bad day",
        TZ,
        TZ + "  working_hours:\n    days: [mon, funday]\n",
        [(5, "unknown day 'funday' (mon, tue, … sun)")],
    ),
    (
        "a bad day on its own line",
        TZ,
        TZ + "  working_hours:\n    start: '08:00'\n    days: [mon, funday]\n",
        [(6, "unknown day 'funday' (mon, tue, … sun)")],
    ),
    (
        "days not a list on its own line",
        TZ,
        TZ + "  working_hours:\n    start: '08:00'\n    days: mon\n",
        [(6, "days must be a list such as [mon, tue, wed]")],
    ),
    (
        "hours days empty",
        TZ,
        TZ + "  working_hours:\n    days: []\n",
        [(5, "days must be a list such as [mon, tue, wed]")],
    ),
    (
        "stages not a list",
        TZ,
        TZ + "  readiness_stages: soon\n",
        [(4, "readiness_stages must be a list such as [forecast 24h, selftest setup]")],
    ),
    (
        "stage twice",
        TZ,
        TZ + "  readiness_stages: [forecast 24h, forecast 24h]\n",
        [(4, "readiness stage 'forecast 24h' is given twice")],
    ),
    (
        "stage bad",
        TZ,
        TZ + "  readiness_stages: [forecast 24h, dance 1h]\n",
        [
            (
                4,
                "readiness stage 'dance 1h' must look like 'forecast 24h', 'selftest 60m' or "
                "'selftest setup'",
            )
        ],
    ),
    (
        "client not a map",
        TZ,
        TZ + "  client: zoom\n",
        [(4, "client must be a map with exactly process: {process: Zoom.exe}")],
    ),
    (
        "client path",
        TZ,
        TZ + "  client: {process: /usr/bin/zoom}\n",
        [
            (
                4,
                "client process '/usr/bin/zoom' must be a program name such as Zoom.exe "
                "(letters, digits, space . _ + -, at most 64, no path)",
            )
        ],
    ),
    (
        "section not a list",
        "agencies:\n  - {id: ubnd, name: Ủy ban nhân dân}\n",
        "agencies: {ubnd: x}\n",
        [
            (6, "'agencies' must be a list"),
            (12, "agency 'ubnd' is not a known agency"),
            (13, "agency 'ubnd' is not a known agency"),
        ],
    ),
    (
        "entry not a map",
        "  - {id: ubnd, name: Ủy ban nhân dân}\n",
        "  - ubnd\n",
        [
            (7, "each entry of 'agencies' must be a mapping"),
            (13, "agency 'ubnd' is not a known agency"),
            (14, "agency 'ubnd' is not a known agency"),
        ],
    ),
    (
        "no bridges",
        "bridges:\n  - {id: mcu-1, name: MCU 1, ports: 10}\n",
        "",
        [(1, "the fleet needs at least one bridge"), (11, "bridge 'mcu-1' is not a known bridge")],
    ),
    ("ports bool", "ports: 10", "ports: true", [(5, "ports must be a whole number, not True")]),
    (
        "ports too many",
        "ports: 10",
        "ports: 100001",
        [(5, "ports must be from 1 to 100,000 (got 100,001)")],
    ),
    ("bridge text a map", "name: MCU 1,", "name: {a: b},", [(5, "'name' must be text")]),
    (
        "missing agency name",
        "{id: ubnd, name: Ủy ban nhân dân}",
        "{id: ubnd}",
        [(7, "missing key 'name' in agencies")],
    ),
    (
        "site parent and district",
        "district: h-a}",
        "district: h-a, parent: tinh}",
        [(11, "give 'parent:' or 'district:', not both")],
    ),
    (
        "site parent not a slug",
        "district: h-a}",
        "district: H A}",
        [
            (11, "district 'H A' must be a slug: lowercase ASCII letters, digits and '-'"),
            (11, "parent 'H A' is not a known site"),
        ],
    ),
    ("endpoint kind", EP, EP[:-1] + ", kind: phone}", [(13, "kind 'phone' must be pc or codec")]),
    (
        "endpoint tags not slugs",
        "tags: [vung-cao]",
        "tags: [Vùng cao]",
        [(14, "tags must be a list of slugs")],
    ),
    (
        "endpoint tags not a list",
        "tags: [vung-cao]",
        "tags: vung-cao",
        [(14, "tags must be a list of slugs")],
    ),
    (
        "codec on a pc",
        EP,
        EP[:-1] + ", codec: {driver: cisco, url: 'https://10.0.0.1'}}",
        [(13, "codec: is only for endpoints of kind codec")],
    ),
    (
        "codec bad driver",
        EP,
        EP[:-1] + ", kind: codec, codec: {driver: sony, url: 'https://10.0.0.1'}}",
        [(13, "codec driver 'sony' must be one of cisco-xapi, poly-rest")],
    ),
    (
        "codec bad url",
        EP,
        EP[:-1] + ", kind: codec, codec: {driver: cisco-xapi, url: 'https://admin:pw@10.0.0.1'}}",
        [
            (
                13,
                "codec url 'https://admin:pw@10.0.0.1' must be http(s)://HOST[:PORT] "
                "with no credentials",
            )
        ],
    ),
    (
        "codec missing url",
        EP,
        EP[:-1] + ", kind: codec, codec: {driver: cisco}}",
        [(13, "codec must be a map with exactly driver and url")],
    ),
    (
        "client on a codec",
        EP,
        EP[:-1] + ", kind: codec, client: {process: zoom}}",
        [(13, "client: is only for endpoints of kind pc")],
    ),
    (
        "no endpoints",
        BASE[BASE.index("endpoints:") :],
        "",
        [(1, "the fleet has no endpoints")],
    ),
    (
        "duplicate bridge",
        "  - {id: mcu-1, name: MCU 1, ports: 10}\n",
        "  - {id: mcu-1, name: MCU 1, ports: 10}\n  - {id: mcu-1, name: MCU 2, ports: 5}\n",
        [(6, "duplicate bridge id 'mcu-1' (first at line 5)")],
    ),
    (
        "ref to broken site not repeated",
        "  - {id: tinh, name: Tỉnh, level: province}",
        "  - {id: tinh, name: Tỉnh, level: kingdom}",
        [(9, "level 'kingdom' is not declared (levels: province, district, commune)")],
    ),
    (
        "codec url with a path kept, bad scheme",
        EP,
        EP[:-1] + ", kind: codec, codec: {driver: poly-rest, url: 'ftp://10.0.0.1'}}",
        [(13, "codec url 'ftp://10.0.0.1' must be http(s)://HOST[:PORT] with no credentials")],
    ),
    (
        "bridge id missing",
        "{id: mcu-1, name: MCU 1, ports: 10}",
        "{name: MCU 1, ports: 10}",
        [
            (5, "missing key 'id' in bridges"),
            (5, "the fleet needs at least one bridge"),
            (13, "bridge 'mcu-1' is not a known bridge"),
        ],
    ),
    (
        "endpoint unknown key",
        "tags: [vung-cao]}",
        "tags: [vung-cao], floor: 3}",
        [
            (
                14,
                "unknown key 'floor' in endpoints (allowed: address, agency, bridge, client, "
                "codec, id, kind, name, site, tags)",
            )
        ],
    ),
    (
        "client with an extra key",
        TZ,
        TZ + "  client: {process: zoom, path: x}\n",
        [(4, "client must be a map with exactly process: {process: Zoom.exe}")],
    ),
    (
        "reserved level all",
        TZ,
        TZ + "  levels: [province, all]\n",
        [
            (4, "level 'all' would clash with the selector 'all:'"),
            (11, "level 'district' is not declared (levels: province)"),
            (12, "level 'commune' is not declared (levels: province)"),
        ],
    ),
    (
        "reserved level level",
        TZ,
        TZ + "  levels: [province, level]\n",
        [
            (4, "level 'level' would clash with the selector 'level:'"),
            (11, "level 'district' is not declared (levels: province)"),
            (12, "level 'commune' is not declared (levels: province)"),
        ],
    ),
    (
        "reserved level under",
        TZ,
        TZ + "  levels: [province, under]\n",
        [
            (4, "level 'under' would clash with the selector 'under:'"),
            (11, "level 'district' is not declared (levels: province)"),
            (12, "level 'commune' is not declared (levels: province)"),
        ],
    ),
    (
        "reserved level site",
        TZ,
        TZ + "  levels: [province, site]\n",
        [
            (4, "level 'site' would clash with the selector 'site:'"),
            (11, "level 'district' is not declared (levels: province)"),
            (12, "level 'commune' is not declared (levels: province)"),
        ],
    ),
    (
        "reserved level agency",
        TZ,
        TZ + "  levels: [province, agency]\n",
        [
            (4, "level 'agency' would clash with the selector 'agency:'"),
            (11, "level 'district' is not declared (levels: province)"),
            (12, "level 'commune' is not declared (levels: province)"),
        ],
    ),
    (
        "hours end bad",
        TZ,
        TZ + "  working_hours:\n    end: late\n",
        [(5, "end 'late' must be a time such as \"07:30\"")],
    ),
    (
        "hours start equals end",
        TZ,
        TZ + "  working_hours:\n    start: '09:00'\n    end: '09:00'\n",
        [(5, "working_hours start must be before end")],
    ),
    (
        "unknown section",
        "agencies:",
        "agencys:",
        [
            (6, "unknown section 'agencys' (allowed: agencies, bridges, endpoints, fleet, sites)"),
            (13, "agency 'ubnd' is not a known agency"),
            (14, "agency 'ubnd' is not a known agency"),
        ],
    ),
    (
        "duplicate agency",
        "  - {id: ubnd, name: Ủy ban nhân dân}\n",
        "  - {id: ubnd, name: Ủy ban nhân dân}\n  - {id: ubnd, name: Again}\n",
        [(8, "duplicate agency id 'ubnd' (first at line 7)")],
    ),
    (
        "endpoints empty",
        BASE[BASE.index("endpoints:") :],
        "endpoints: []\n",
        [(12, "the fleet has no endpoints")],
    ),
    ("bridge without ports", ", ports: 10}", "}", [(5, "missing key 'ports' in bridges")]),
]


@pytest.mark.parametrize(("what", "old", "new", "expected"), REFUSED, ids=[r[0] for r in REFUSED])
def test_each_refusal_says_what_and_where(
    what: str, old: str, new: str, expected: list[tuple[int, str]]
) -> None:
    assert old in BASE, what
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(BASE.replace(old, new, 1), "f.yaml")
    assert [(p.line, p.message) for p in refused.value.problems] == expected
    assert all(p.file == "f.yaml" for p in refused.value.problems)


def test_a_document_that_is_not_a_mapping_is_refused_on_its_line() -> None:
    root = LocatedList(3)
    fleet, problems = build_fleet(root, "f.yaml")
    assert fleet is None
    assert [(p.line, p.message) for p in problems] == [
        (3, "the fleet file must be a mapping of sections")
    ]
    fleet, problems = build_fleet("text", "f.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (1, "the fleet file must be a mapping of sections")
    ]


def test_a_fleet_header_that_is_not_a_mapping_is_told_on_its_own_line() -> None:
    header = "fleet:\n  name: Tỉnh Thử\n  timezone: Asia/Ho_Chi_Minh\n"
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(BASE.replace(header, "") + "fleet: [a]\n", "f.yaml")
    assert [(p.line, p.message) for p in refused.value.problems] == [
        (12, "missing 'fleet:' mapping (name, timezone)")
    ]


def test_a_single_level_and_a_parent_left_empty_are_accepted() -> None:
    one = BASE.replace(TZ, TZ + "  levels: [tinh]\n").replace("level: province", "level: tinh")
    one = one.replace("  - {id: h-a, name: Huyện A, level: district}\n", "")
    one = one.replace("  - {id: x-b, name: Xã Bình, level: commune, district: h-a}\n", "")
    one = one.replace("site: x-b", "site: tinh")
    assert parse_fleet_text(one, "f.yaml").levels == ("tinh",)
    empty = BASE.replace("level: commune, district: h-a", "level: commune, district: null")
    assert parse_fleet_text(empty, "f.yaml").sites["x-b"].parent == "tinh"


def test_working_hours_given_in_part_take_the_default_for_the_rest() -> None:
    only_end = parse_fleet_text(BASE.replace(TZ, TZ + "  working_hours: {end: '18:00'}\n"), "f")
    assert (only_end.working_hours.start, only_end.working_hours.end) == (time(7, 30), time(18))
    only_start = parse_fleet_text(BASE.replace(TZ, TZ + "  working_hours: {start: '06:00'}\n"), "f")
    assert (only_start.working_hours.start, only_start.working_hours.end) == (time(6), time(17))


def test_defaults_when_the_header_gives_only_a_name() -> None:
    fleet = parse_fleet_text(BASE.replace(TZ, ""), "f.yaml")
    assert fleet.name == "Tỉnh Thử"
    assert fleet.timezone == "Asia/Ho_Chi_Minh"
    assert fleet.report_interval == timedelta(seconds=10)
    assert fleet.levels == DEFAULT_LEVELS
    assert fleet.readiness_stages == DEFAULT_STAGES
    hours = fleet.working_hours
    assert (hours.days, hours.start, hours.end) == (frozenset(range(5)), time(7, 30), time(17))
    assert all(e.client_process == "" for e in fleet.endpoints.values())


SETTINGS = """\
  timezone: Asia/Bangkok
  report_interval: 2m
  levels: [tinh, xa]
  client: {process: Zoom.exe}
  readiness_stages: [forecast 12h, selftest setup]
  working_hours:
    days: [Monday, SAT, sunday]
    start: "7:05"
    end: "21:45"
"""
TWO_TIERS = (
    BASE.replace(TZ, SETTINGS)
    .replace("level: province", "level: tinh")
    .replace("  - {id: h-a, name: Huyện A, level: district}\n", "")
    .replace("level: commune, district: h-a", "level: xa, parent: tinh")
)


def test_every_setting_of_the_header_is_read() -> None:
    fleet = parse_fleet_text(TWO_TIERS, "f.yaml")
    assert fleet.timezone == "Asia/Bangkok"
    assert fleet.report_interval == timedelta(minutes=2)
    assert fleet.levels == ("tinh", "xa")
    assert [s.name for s in fleet.readiness_stages] == ["forecast 12h", "selftest setup"]
    hours = fleet.working_hours
    assert (hours.days, hours.start, hours.end) == (frozenset({0, 5, 6}), time(7, 5), time(21, 45))
    assert {e.id: e.client_process for e in fleet.endpoints.values()} == {
        "ep-tinh": "Zoom.exe",
        "ep-b": "Zoom.exe",
    }
    assert fleet.sites["x-b"].parent == "tinh"
    assert fleet.endpoints["ep-b"].level == "xa"


@pytest.mark.parametrize(("raw", "seconds"), [("1s", 1), ("45s", 45), ("1h", 3600), ("60m", 3600)])
def test_report_intervals_at_and_inside_the_bounds(raw: str, seconds: int) -> None:
    fleet = parse_fleet_text(BASE.replace(TZ, TZ + f"  report_interval: {raw}\n"), "f.yaml")
    assert fleet.report_interval == timedelta(seconds=seconds)


def test_working_hours_without_days_are_monday_to_friday() -> None:
    text = BASE.replace(TZ, TZ + "  working_hours:\n    start: '08:00'\n")
    hours = parse_fleet_text(text, "f.yaml").working_hours
    assert (hours.days, hours.start, hours.end) == (frozenset(range(5)), time(8), time(17))


def test_eight_levels_are_allowed() -> None:
    levels = "[province, district, commune, l4, l5, l6, l7, l8]"
    fleet = parse_fleet_text(BASE.replace(TZ, TZ + f"  levels: {levels}\n"), "f.yaml")
    assert len(fleet.levels) == 8


def test_entries_carry_every_optional_field() -> None:
    text = (
        BASE.replace(
            "{id: mcu-1, name: MCU 1, ports: 10}",
            "{id: mcu-1, name: '  MCU 1  ', ports: 10, address: 10.0.0.9, dial_in: '8001'}",
        )
        .replace("{id: ubnd, name: Ủy ban nhân dân}", "{id: ubnd, name: UBND, email: it@x.vn}")
        .replace(EP, "agency: ubnd, bridge: mcu-1, address: 10.1.1.1, client: {process: vc}}")
        .replace(
            "tags: [vung-cao]}",
            "tags: [vung-cao, bien], kind: codec, "
            "codec: {driver: poly-rest, url: 'https://10.2.2.2:8443/'}}",
        )
        .replace(TZ, TZ + "  client: {process: Zoom.exe}\n")
    )
    fleet = parse_fleet_text(text, "f.yaml")
    bridge = fleet.bridges["mcu-1"]
    assert (bridge.name, bridge.ports, bridge.address, bridge.dial_in) == (
        "MCU 1",
        10,
        "10.0.0.9",
        "8001",
    )
    assert fleet.agencies["ubnd"].email == "it@x.vn"
    pc, codec = fleet.endpoints["ep-tinh"], fleet.endpoints["ep-b"]
    assert (pc.kind, pc.address, pc.bridge, pc.client_process) == (
        EndpointKind.PC,
        "10.1.1.1",
        "mcu-1",
        "vc",
    )
    assert (codec.kind, codec.tags, codec.client_process) == (
        EndpointKind.CODEC,
        ("vung-cao", "bien"),
        "",
    )
    assert codec.codec is not None
    assert (codec.codec.driver, codec.codec.url) == ("poly-rest", "https://10.2.2.2:8443")
    assert codec.bridge is None
    assert codec.area == "h-a"


def test_an_agency_without_email_has_none_and_a_bridge_its_id_as_name() -> None:
    text = BASE.replace("{id: mcu-1, name: MCU 1, ports: 10}", "{id: mcu-1, ports: 100000}")
    fleet = parse_fleet_text(text, "f.yaml")
    assert fleet.agencies["ubnd"].email is None
    assert (fleet.bridges["mcu-1"].name, fleet.bridges["mcu-1"].ports) == ("mcu-1", 100_000)


BLOCK = """\
fleet:
  name: Tỉnh Thử
bridges:
  - id: mcu-1
    ports: PORTS
agencies:
  - {id: ubnd, name: Ủy ban nhân dân}
sites:
  - {id: tinh, name: Tỉnh, level: province}
  - id: x-b
    name: Xã Bình
    level: commune
    parent: PARENT
endpoints:
  - id: ep-b
    name: Phòng họp xã Bình
    site: x-b
    agency: ubnd
    EXTRA
"""


@pytest.mark.parametrize(
    ("ports", "parent", "extra", "expected"),
    [
        ("true", "tinh", "kind: pc", [(5, "ports must be a whole number, not True")]),
        ("0", "tinh", "kind: pc", [(5, "ports must be from 1 to 100,000 (got 0)")]),
        ("1", "nowhere", "kind: pc", [(13, "parent 'nowhere' is not a known site")]),
        ("1", "tinh", "tags: Vùng cao", [(19, "tags must be a list of slugs")]),
        (
            "1",
            "tinh",
            "codec: {driver: cisco-xapi, url: 'https://10.0.0.1'}",
            [(19, "codec: is only for endpoints of kind codec")],
        ),
        (
            "1",
            "tinh",
            "kind: codec\n    client: {process: zoom}",
            [(20, "client: is only for endpoints of kind pc")],
        ),
    ],
)
def test_a_problem_in_a_block_entry_is_told_on_the_line_of_its_key(
    ports: str, parent: str, extra: str, expected: list[tuple[int, str]]
) -> None:
    text = BLOCK.replace("PORTS", ports).replace("PARENT", parent).replace("EXTRA", extra)
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(text, "f.yaml")
    assert [(p.line, p.message) for p in refused.value.problems] == expected


def test_one_to_eight_readiness_stages_and_each_bad_one_told() -> None:
    one = parse_fleet_text(BASE.replace(TZ, TZ + "  readiness_stages: [selftest setup]\n"), "f")
    assert [s.name for s in one.readiness_stages] == ["selftest setup"]
    eight = ", ".join(f"forecast {h}h" for h in range(2, 10))
    fleet = parse_fleet_text(BASE.replace(TZ, TZ + f"  readiness_stages: [{eight}]\n"), "f")
    assert len(fleet.readiness_stages) == 8
    nine = ", ".join(f"forecast {h}h" for h in range(2, 11))
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(BASE.replace(TZ, TZ + f"  readiness_stages: [{nine}]\n"), "f")
    assert [p.message for p in refused.value.problems] == [
        "readiness_stages must be a list such as [forecast 24h, selftest setup]"
    ]
    mixed = "  readiness_stages: [5, dance 1h, forecast 24h, forecast 24h]\n"
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(BASE.replace(TZ, TZ + mixed), "f")
    assert [p.message for p in refused.value.problems] == [
        "readiness stage '5' must look like 'forecast 24h', 'selftest 60m' or 'selftest setup'",
        "readiness stage 'dance 1h' must look like 'forecast 24h', 'selftest 60m' or "
        "'selftest setup'",
        "readiness stage 'forecast 24h' is given twice",
    ]


TREE_HEAD = """\
fleet:
  name: Tỉnh Thử
bridges:
  - {id: mcu-1, ports: 10}
agencies:
  - {id: ubnd, name: UBND}
sites:
  - {id: t1, name: T1, level: province}
"""
TREE_TAIL = """\
endpoints:
  - {id: ep, name: Phòng, site: t1, agency: ubnd}
"""
H1_UNDER = "  - id: h1\n    name: H1\n    level: district\n    parent: {}\n"
H2_UNDER = "  - id: h2\n    name: H2\n    level: district\n    parent: {}\n"
TOPS = "".join(f"  - {{id: t{i}, name: T{i}, level: province}}\n" for i in (2, 3, 4))


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        (H1_UNDER.format("h2") + H2_UNDER.format("h1"), [(12, "sites form a cycle: h1 → h2 → h1")]),
        (
            H1_UNDER.format("t1") + H2_UNDER.format("h1"),
            [
                (
                    16,
                    "'h2' (district) cannot hang under 'h1' (district): a site must be below "
                    "its parent's level (levels: province, district, commune)",
                )
            ],
        ),
        (
            TOPS + "  - {id: h1, name: H1, level: district}\n",
            [(12, "site 'h1' needs a 'parent:' (the fleet has 4 province sites: t1, t2, t3…)")],
        ),
    ],
)
def test_the_site_tree_is_checked_on_the_line_of_each_parent(
    sites: str, expected: list[tuple[int, str]]
) -> None:
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(TREE_HEAD + sites + TREE_TAIL, "f.yaml")
    assert [(p.line, p.message) for p in refused.value.problems] == expected


def test_a_broken_entry_does_not_hide_the_entries_after_it() -> None:
    text = BASE.replace(
        "  - {id: mcu-1, name: MCU 1, ports: 10}\n",
        "  - {name: no id, ports: 1}\n"
        "  - {id: mcu-1, name: MCU 1, ports: 10}\n"
        "  - {id: mcu-1, name: MCU 1 again, ports: 10}\n"
        "  - {id: mcu-2, name: MCU 2, ports: 5}\n",
    ).replace(EP, "agency: ubnd, bridge: mcu-2}")
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(text, "f.yaml")
    assert [(p.line, p.message) for p in refused.value.problems] == [
        (5, "missing key 'id' in bridges"),
        (7, "duplicate bridge id 'mcu-1' (first at line 6)"),
    ]
    fixed = text.replace("  - {name: no id, ports: 1}\n", "").replace(
        "  - {id: mcu-1, name: MCU 1 again, ports: 10}\n", ""
    )
    assert set(parse_fleet_text(fixed, "f.yaml").bridges) == {"mcu-1", "mcu-2"}


def test_a_name_of_two_hundred_characters_is_accepted() -> None:
    fleet = parse_fleet_text(BASE.replace("  name: Tỉnh Thử", "  name: " + "x" * 200), "f")
    assert len(fleet.name) == 200


def test_the_consoles_language_is_a_fleet_setting_stored_and_served(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from confsched.services.inventory import import_fleet
    from confsched.store.db import open_db
    from confsched.store.inventory import load_fleet

    assert parse_fleet_text(BASE, "f").language == ""
    english = BASE.replace(TZ, TZ + "  language: EN\n")
    assert parse_fleet_text(english, "f").language == "en"
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(BASE.replace(TZ, TZ + "  language: fr\n"), "f")
    assert [(p.line, p.message) for p in refused.value.problems] == [
        (4, "language 'fr' must be vi or en")
    ]
    file = tmp_path / "fleet.yaml"
    file.write_text(english, encoding="utf-8")
    db = open_db(tmp_path / "data")
    import_fleet(db, file)
    assert load_fleet(db).language == "en"
    file.write_text(english.replace("language: EN", "language: vi"), encoding="utf-8")
    assert import_fleet(db, file).settings == ["language"]
    assert load_fleet(db).language == "vi"


def test_health_history_windows_are_a_fleet_setting_with_defaults_stored_and_served(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from confsched.domain.retention import Retention
    from confsched.services.inventory import import_fleet
    from confsched.store.db import open_db
    from confsched.store.inventory import load_fleet

    assert parse_fleet_text(BASE, "f").health_history == Retention(
        timedelta(days=30), timedelta(hours=6), timedelta(days=13 * 31)
    )
    given = BASE.replace(TZ, TZ + "  health_history: {changes: 8w, hourly: 2y}\n")
    kept = parse_fleet_text(given, "f").health_history
    assert (kept.changes, kept.minutes, kept.hourly) == (
        timedelta(weeks=8),
        timedelta(hours=6),  # left out: the default
        timedelta(days=732),
    )
    file = tmp_path / "fleet.yaml"
    file.write_text(given, encoding="utf-8")
    db = open_db(tmp_path / "data")
    import_fleet(db, file)
    assert load_fleet(db).health_history == kept
    file.write_text(given.replace("changes: 8w", "changes: 90d"), encoding="utf-8")
    assert import_fleet(db, file).settings == ["health_history"]
    assert load_fleet(db).health_history.changes == timedelta(days=90)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[30d]", "health_history must be a mapping such as {changes: 30d, hourly: 13mo}"),
        (
            "{changes: 30d, raw: 1d}",
            "unknown key 'raw' in health_history (known: changes, minutes, hourly)",
        ),
        (
            "{changes: 30 days}",
            "health_history changes: '30 days' must be a span such as 6h, 30d, 8w, 13mo or 2y",
        ),
        (
            "{changes: 30}",
            "health_history changes: '30' must be a span such as 6h, 30d, 8w, 13mo or 2y",
        ),
        ("{minutes: 30d}", "health_history minutes '30d' must be from 1h to 7d"),
        ("{hourly: 6y}", "health_history hourly '6y' must be from 1d to 5y"),
        ("{changes: 0h}", "health_history changes '0h' must be from 1h to 400d"),
    ],
)
def test_a_bad_health_history_is_refused_by_name_on_its_line(value: str, message: str) -> None:
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(BASE.replace(TZ, TZ + f"  health_history: {value}\n"), "f")
    assert [(p.line, p.message) for p in refused.value.problems] == [(4, message)]
