"""A synthetic city fleet for the cascade benchmark: 619 rooms whose home bridges are six
120-port MCUs, so that a 192-room session of rooms from every quarter must cascade.

Rooms are spread over 12 wards; each ward's rooms have one home bridge (two wards per bridge,
about 103 rooms each), as a city wires its wards to the nearest MCU.
"""

from __future__ import annotations

ROOMS = 619
BRIDGES = 6
PORTS = 120
WARDS = 12


def city_yaml() -> str:
    """The fleet file text (two tiers: the city, then its wards)."""
    lines = [
        "fleet: {name: Thành phố Thử, timezone: Asia/Ho_Chi_Minh, report_interval: 10s}",
        "bridges:",
        *(
            f"  - {{id: mcu-{b}, name: MCU {b}, ports: {PORTS}, dial_in: 'sip:hop@mcu{b}.example'}}"
            for b in range(1, BRIDGES + 1)
        ),
        "agencies:",
        "  - {id: ubnd, name: Ủy ban nhân dân thành phố}",
        "sites:",
        "  - {id: tp, name: Thành phố Thử, level: province}",
        *(f"  - {{id: p-{w}, name: Phường {w}, level: district}}" for w in range(1, WARDS + 1)),
        "endpoints:",
    ]
    for i in range(ROOMS):
        ward = i * WARDS // ROOMS + 1
        bridge = (ward - 1) * BRIDGES // WARDS + 1
        lines.append(
            f"  - {{id: r-{i}, name: Phòng {i}, site: p-{ward}, agency: ubnd, kind: pc, "
            f"bridge: mcu-{bridge}}}"
        )
    return "\n".join(lines) + "\n"
