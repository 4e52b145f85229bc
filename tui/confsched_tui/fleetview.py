"""What the fleet screen shows, computed without Textual: tiles, groups, filters, counts.

The screen feeds API JSON in and gets plain values out, so the grouping and filtering rules are
tested directly and the widget only draws.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from confsched_tui.i18n import N_, _, ngettext
from confsched_tui.text import ellipsize, fold, nfc

STATES: tuple[str, ...] = ("ok", "degraded", "down", "offline", "unknown")
SYMBOLS: Mapping[str, str] = {
    "ok": "●",
    "degraded": "▲",
    "down": "✖",
    "offline": "○",
    "unknown": "?",
}
"""A symbol for every state, so the fleet reads without colour too."""
STATE_NAMES: Mapping[str, str] = {
    "ok": N_("ok"),
    "degraded": N_("degraded"),
    "down": N_("down"),
    "offline": N_("offline"),
    "unknown": N_("unknown"),
}
"""What the operator reads; the keys stay the API's (and the filter's ``state:down``)."""

_ADMIN_PREFIX = re.compile(r"^(Phường|Xã|Thị trấn|Huyện|Thành phố|Thị xã|Quận|Tỉnh)\s+", re.I)
_ROOM_PREFIX = re.compile(r"^(Phòng họp|Phòng điều hành|Phòng)\s+", re.I)
_SHORT_AREA = (("Thành phố ", "TP "), ("Thị xã ", "TX "))
DEFAULT_LEVELS = ("province", "district", "commune")
PROVINCE_GROUP = N_("Province")
MIN_TILE_WIDTH = 12


def symbol(state: str) -> str:
    return SYMBOLS.get(state, SYMBOLS["unknown"])


def state_name(state: str) -> str:
    """An endpoint state in the console's language (``down`` → ``lỗi``)."""
    return _(STATE_NAMES[state]) if state in STATE_NAMES else state


def tile_label(endpoint: Mapping[str, Any], top_level: str = DEFAULT_LEVELS[0]) -> str:
    """A room's shortest recognisable name: the place for districts and communes
    (``Hùng Sơn``), the room for the top of the tree (``Tỉnh ủy``)."""
    if endpoint.get("level") == top_level:
        return _ROOM_PREFIX.sub("", nfc(endpoint.get("name")))
    place = nfc(endpoint.get("site_name") or endpoint.get("name"))
    return _ADMIN_PREFIX.sub("", place)


def _label_candidates(endpoint: Mapping[str, Any], top_level: str) -> tuple[str, ...]:
    """Ever longer names for one room, tried in turn while two rooms of a group still share
    one: the short place, the place with its kind (``Xã Phú Lương`` beside ``Huyện Phú
    Lương``), the room's full name, and last its id (always unique)."""
    short_label = tile_label(endpoint, top_level)
    place = nfc(endpoint.get("site_name") or endpoint.get("name"))
    return (short_label, place, nfc(endpoint.get("name")), str(endpoint.get("id")))


def distinct_labels(candidates: Sequence[Sequence[str]]) -> list[str]:
    """One label per room, each the shortest of its candidates that no other room of the
    group shares in full; rooms whose short names clash move on to longer ones together."""
    step = [0] * len(candidates)
    labels = [c[0] for c in candidates]
    for _round in range(max((len(c) for c in candidates), default=0)):
        clashing = {label for label, n in Counter(labels).items() if n > 1}
        if not clashing:
            break
        for i, label in enumerate(labels):
            if label in clashing and step[i] + 1 < len(candidates[i]):
                step[i] += 1
                labels[i] = candidates[i][step[i]]
    return labels


def distinct_texts(labels: Sequence[str], width: int) -> list[str]:
    """What the tiles of one group show in ``width`` cells, no two alike.

    A label that fits is kept; labels whose cut forms clash drop the words they all start
    with (``Thượng Khánh``, ``Thượng Vinh`` → ``…Khánh``, ``…Vinh``), then keep their ends;
    a clash left after that (labels alike in the cells shown) is numbered."""
    texts = [ellipsize(label, width) for label in labels]
    for shorten in (_drop_shared_words, _keep_end):
        for members in _clashes(texts):
            for i, text in zip(members, shorten([labels[i] for i in members], width), strict=True):
                texts[i] = text
    used = set(texts)
    seen: set[str] = set()
    for i, text in enumerate(texts):
        if text not in seen:
            seen.add(text)
            continue
        n = 2
        while (numbered := f"{ellipsize(labels[i], width - len(str(n)))}{n}") in used:
            n += 1
        texts[i] = numbered
        used.add(numbered)
    return texts


def _clashes(texts: Sequence[str]) -> list[list[int]]:
    where: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        where.setdefault(text, []).append(i)
    return [members for members in where.values() if len(members) > 1]


def _drop_shared_words(labels: Sequence[str], width: int) -> list[str]:
    words = [label.split() for label in labels]
    shared = 0
    while all(len(w) > shared + 1 and w[shared] == words[0][shared] for w in words):
        shared += 1
    if not shared:
        return [ellipsize(label, width) for label in labels]
    return [ellipsize("…" + " ".join(w[shared:]), width) for w in words]


def _keep_end(labels: Sequence[str], width: int) -> list[str]:
    return [label if len(label) <= width else "…" + label[-(width - 1) :] for label in labels]


def tile_width(screen_width: int, labels: Iterable[str]) -> int:
    """Cells per tile: 12 at 80 columns, growing with the screen (an eighth of the width
    beside the band labels) up to what the longest label needs."""
    longest = max((len(label) for label in labels), default=0)
    return max(MIN_TILE_WIDTH, min(longest + 2, (screen_width - 15) // 8))


def call_text(call: Mapping[str, Any] | None) -> str:
    """A health's ``call`` in words: with whom the room is in a call, that it is in none, or
    "" when its source cannot tell (``null``: saying "not in a call" would be a guess)."""
    if not isinstance(call, Mapping):
        return ""
    if not call.get("active"):
        return _("Not in a call")
    remote = nfc(call.get("remote"))
    return _("In call with {remote}").format(remote=remote) if remote else _("In a call")


def area_label(name: str | None) -> str:
    label = nfc(name)
    for long, short in _SHORT_AREA:
        if label.startswith(long):
            return short + label[len(long) :]
    return label


@dataclass(frozen=True, slots=True)
class Tile:
    """One endpoint as the grid draws it."""

    id: str
    label: str
    level: str
    state: str = "unknown"


@dataclass(slots=True)
class Group:
    """A row band of the grid: the rooms of no area (the province's), or one area's rooms
    (a district with its communes)."""

    key: str
    label: str
    tiles: list[Tile] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Band:
    """A group's rooms and their labels, which do not change with the rooms' states: worked
    out once per inventory (10,000 rooms: a few hundred milliseconds), then filled with the
    states of each health reading by :func:`fill_bands` (a few milliseconds)."""

    key: str
    label: str
    ids: tuple[str, ...]
    labels: tuple[str, ...]
    levels: tuple[str, ...]


def plan_bands(
    endpoints: Iterable[Mapping[str, Any]], levels: Sequence[str] = DEFAULT_LEVELS
) -> list[Band]:
    """The rooms of no area first (the province's, and in a two-tier province every commune),
    then each area (a district: its own room first, then its communes), in the fleet's order.
    ``levels``: the fleet's level names, top-down. No two rooms of a band get the same label."""
    names: dict[str, str] = {"": PROVINCE_GROUP}
    rank = {name: i for i, name in enumerate(levels)}
    top = levels[0] if levels else DEFAULT_LEVELS[0]
    members: dict[str, list[Mapping[str, Any]]] = {"": []}
    for endpoint in sorted(endpoints, key=lambda e: rank.get(str(e.get("level")), len(rank))):
        key = str(endpoint.get("area") or "")
        if key not in names:
            names[key] = area_label(endpoint.get("area_name")) or key
            members[key] = []
        members[key].append(endpoint)
    return [
        Band(
            key,
            names[key],
            tuple(str(e["id"]) for e in rooms),
            tuple(distinct_labels([_label_candidates(e, top) for e in rooms])),
            tuple(str(e.get("level")) for e in rooms),
        )
        for key, rooms in members.items()
        if rooms
    ]


def fill_bands(bands: Sequence[Band], states: Mapping[str, str]) -> list[Group]:
    """The bands as groups of tiles, each in its state (``unknown`` when not given); the
    province's band named in the console's language."""
    return [
        Group(band.key, _(band.label) if not band.key else band.label, [
            Tile(i, label, level, states.get(i, "unknown"))
            for i, label, level in zip(band.ids, band.labels, band.levels, strict=True)
        ])
        for band in bands
    ]  # fmt: skip


def group_endpoints(
    endpoints: Iterable[Mapping[str, Any]],
    states: Mapping[str, str],
    levels: Sequence[str] = DEFAULT_LEVELS,
) -> list[Group]:
    """:func:`plan_bands` filled with ``states`` (endpoint id → state; missing ids are
    ``unknown``)."""
    return fill_bands(plan_bands(endpoints, levels), states)


def count_states(states: Iterable[str]) -> dict[str, int]:
    counts = Counter(states)
    return {state: counts.get(state, 0) for state in STATES}


@dataclass(frozen=True, slots=True)
class FleetFilter:
    """What the operator typed in the filter box, plus the state keys they toggled.

    Words match id, name, site, area, agency, address and tags, without diacritics. Two keys
    are the console's own, about health: ``state:down,offline`` (the CLI's ``--state``; a
    state's first letters will do) and ``reason:camera`` (a word of the room's health reasons
    or their codes; commas: any of them). Any other ``key:value`` word is a selector of the
    CLI's one language (``under:h-dai-tu``, ``level:commune``, ``tag:vung-cao``), parsed and
    resolved by the scheduler (``ApiClient.select``), which names an unknown key; the console
    has no copy of the parser (it may not import the scheduler). An unknown state is flagged
    in :attr:`problems` and then nothing matches. All words must match (a selector word's
    commas are "or", as in ``--with``).
    """

    words: tuple[str, ...] = ()
    states: frozenset[str] = frozenset()
    selectors: tuple[str, ...] = ()
    reasons: tuple[tuple[str, ...], ...] = ()
    """Per ``reason:`` word, its alternatives (folded)."""
    problems: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, states: Iterable[str] = ()) -> FleetFilter:
        words: list[str] = []
        wanted = set(states)
        selectors: list[str] = []
        reasons: list[tuple[str, ...]] = []
        problems: list[str] = []
        for token in text.split():
            kind, colon, value = token.partition(":")
            key = fold(kind)
            if colon and key == "state":
                problems += _add_states(value, wanted)
            elif colon and key == "reason":
                alternatives = tuple(fold(v) for v in value.split(",") if v)
                if alternatives:
                    reasons.append(alternatives)
                else:
                    problems.append(_("reason: needs a word, such as reason:camera"))
            elif colon:
                selectors.append(token)
            else:
                words.append(fold(token))
        return cls(
            tuple(words), frozenset(wanted), tuple(selectors), tuple(reasons), tuple(problems)
        )

    @property
    def selector_text(self) -> str:
        """The selectors as the scheduler's ``?with=`` takes them ("" when none)."""
        return ",".join(self.selectors)

    @property
    def active(self) -> bool:
        return bool(self.words or self.states or self.selectors or self.reasons or self.problems)

    def matches(
        self,
        endpoint: Mapping[str, Any],
        state: str,
        haystack: str | None = None,
        selected: Collection[str] | None = None,
        reason: str = "",
    ) -> bool:
        """``haystack``: the endpoint's :func:`haystack`, if the caller keeps it (1,000 rooms
        re-folded at every keystroke would cost tens of milliseconds). ``selected``: the ids the
        scheduler resolved :attr:`selectors` to (None: not resolved, so nothing matches).
        ``reason``: its health's reasons and codes, folded (:func:`reason_text`)."""
        if self.problems or (self.states and state not in self.states):
            return False
        if not all(any(word in reason for word in words) for words in self.reasons):
            return False
        if self.selectors and (selected is None or str(endpoint.get("id")) not in selected):
            return False
        if not self.words:
            return True
        text = haystack if haystack is not None else _haystack(endpoint)
        return all(word in text for word in self.words)


def _add_states(value: str, wanted: set[str]) -> list[str]:
    """Add the states ``down,off`` names to ``wanted``; the problem for each that names none."""
    problems = []
    parts = [p for p in value.split(",") if p] or [""]
    for part in parts:
        found = {s for s in STATES if part and s.startswith(fold(part))}
        if not found:
            problems.append(
                _("unknown state '{state}' (states: {states})").format(
                    state=part, states=", ".join(STATES)
                )
            )
        wanted |= found
    return problems


def reason_text(health: Mapping[str, Any]) -> str:
    """What ``reason:`` words are looked for in: a room's reasons and their codes, folded."""
    parts = [*(health.get("reasons") or []), *(health.get("codes") or [])]
    return fold(" ".join(str(p) for p in parts))


def haystacks(endpoints: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """What the filter's words are matched against, per endpoint id (folded once)."""
    return {str(e["id"]): _haystack(e) for e in endpoints}


def _haystack(endpoint: Mapping[str, Any]) -> str:
    keys = ("id", "name", "site", "site_name", "area_name", "agency", "agency_name", "address")
    parts = [str(endpoint.get(k) or "") for k in keys] + list(endpoint.get("tags") or [])
    return fold(" ".join(parts))


def filter_groups(
    groups: list[Group],
    endpoints: Mapping[str, Mapping[str, Any]],
    wanted: FleetFilter,
    texts: Mapping[str, str] | None = None,
    selected: Collection[str] | None = None,
    reasons: Mapping[str, str] | None = None,
) -> list[Group]:
    """The groups with only the tiles that match (empty groups dropped); ``texts`` are the
    endpoints' :func:`haystacks` when the caller keeps them; ``selected`` the ids the
    filter's selectors resolved to; ``reasons`` each room's :func:`reason_text`."""
    if not wanted.active:
        return groups
    texts = texts or {}
    reasons = reasons or {}
    kept = []
    for group in groups:
        tiles = [
            t
            for t in group.tiles
            if wanted.matches(
                endpoints.get(t.id, {"id": t.id}),
                t.state,
                texts.get(t.id),
                selected,
                reasons.get(t.id, ""),
            )
        ]
        if tiles:
            kept.append(Group(group.key, group.label, tiles))
    return kept


def counts_line(counts: Mapping[str, int], shown: int, total: int) -> list[tuple[str, str]]:
    """``(state, "● ok 150")`` pairs for the counts bar, then a ``("", "192 endpoints")`` tail."""
    parts = [(s, f"{symbol(s)} {state_name(s)} {counts.get(s, 0)}") for s in STATES]
    if shown == total:
        tail = ngettext("{total} endpoint", "{total} endpoints", total).format(total=total)
    else:
        tail = ngettext(
            "showing {shown} of {total} endpoint", "showing {shown} of {total} endpoints", total
        ).format(shown=shown, total=total)
    return [*parts, ("", tail)]


def short(text: str, width: int) -> str:
    return ellipsize(nfc(text), width)
