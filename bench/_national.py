"""A synthetic national fleet: 10,000 rooms in 34 provinces, one 300-port bridge each.

Two tiers as since July 2025 (province, then communes/wards); each province's rooms are wired to
its own bridge, so a session of 192 rooms of one province fits its bridge.
"""

from __future__ import annotations

PROVINCES = 34
ROOMS = 10_000
PORTS = 300
COMMUNES_PER_PROVINCE = 10


def province_of(room: int) -> int:
    return room * PROVINCES // ROOMS + 1


def national_yaml() -> str:
    lines = [
        "fleet: {name: Cả nước, timezone: Asia/Ho_Chi_Minh, report_interval: 10s, "
        "levels: [province, commune]}",
        "bridges:",
        *(
            f"  - {{id: mcu-{p}, name: MCU tỉnh {p}, ports: {PORTS}, "
            f"dial_in: 'sip:hop@mcu{p}.example'}}"
            for p in range(1, PROVINCES + 1)
        ),
        "agencies:",
        "  - {id: ubnd, name: Ủy ban nhân dân}",
        "sites:",
    ]
    for p in range(1, PROVINCES + 1):
        lines.append(f"  - {{id: t-{p}, name: Tỉnh {p}, level: province}}")
        lines.extend(
            f"  - {{id: x-{p}-{c}, name: Xã {c} tỉnh {p}, level: commune, parent: t-{p}}}"
            for c in range(1, COMMUNES_PER_PROVINCE + 1)
        )
    lines.append("endpoints:")
    for i in range(ROOMS):
        p = province_of(i)
        commune = i % COMMUNES_PER_PROVINCE + 1
        lines.append(
            f"  - {{id: r-{i}, name: Phòng {i}, site: x-{p}-{commune}, agency: ubnd, kind: pc, "
            f"bridge: mcu-{p}}}"
        )
    return "\n".join(lines) + "\n"
