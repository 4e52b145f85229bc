"""The one selector language for groups of rooms (CLI ``--with``, the API, the console filter).

Comma-separated selectors: ``all``; ``level:NAME``; ``under:SITE`` (the site and everything
below it); ``site:SITE``; ``agency:ID``; ``tag:NAME``; ``LEVEL:SITE`` for any level the fleet
declares (``district:h-dai-tu`` where a district level exists: ``under:`` a site of that level);
or an endpoint id. A selector that names nothing says what it names wrongly (an unknown key, a
level the fleet does not have, an unknown site or agency) rather than "matches no endpoint".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confsched.domain.model import DEFAULT_LEVELS, Endpoint, Fleet
from confsched.domain.sitetree import subtree
from confsched.errors import InvalidInput

KEYS = ("level", "under", "site", "agency", "tag")
SELECTOR_HELP = "all, level:NAME, under:SITE, site:ID, agency:ID, tag:NAME or an endpoint id"


@dataclass(frozen=True, slots=True)
class Selector:
    """One parsed selector: ``key`` is empty for a bare word (``all`` or an endpoint id)."""

    key: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}:{self.value}" if self.key else self.value


def parse_selectors(text: str | Iterable[str]) -> tuple[Selector, ...]:
    """The selectors of ``"all,tag:x"`` (or of a list of such strings), blanks skipped.

    Only the shape is checked here; whether the names exist depends on the fleet.
    """
    parts = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    selectors = []
    for part in parts:
        raw = part.strip()
        if not raw:
            continue
        key, colon, value = raw.partition(":")
        if colon and (not key or not value.strip()):
            raise InvalidInput(f"selector {raw!r} needs a key and a value, such as tag:vung-cao")
        selectors.append(Selector(key.strip(), value.strip()) if colon else Selector("", raw))
    return tuple(selectors)


def expand_selectors(fleet: Fleet, selectors: str | Iterable[str]) -> tuple[str, ...]:
    """Endpoint ids chosen by ``selectors``, de-duplicated, in fleet order.

    Raises InvalidInput naming the first selector that is malformed, names something the fleet
    does not have, or chooses no endpoint.
    """
    chosen: set[str] = set()
    for selector in parse_selectors(selectors):
        matched = match(fleet, selector)
        if not matched:
            raise InvalidInput(f"selector {str(selector)!r} matches no endpoint")
        chosen.update(matched)
    return tuple(e for e in fleet.endpoints if e in chosen)


def match(fleet: Fleet, selector: Selector) -> set[str]:
    """The endpoints one selector chooses (maybe none); InvalidInput for a name that is wrong."""
    endpoints = fleet.endpoints.values()
    key, value = selector.key, selector.value
    if not key:
        if value == "all":
            return set(fleet.endpoints)
        if value not in fleet.endpoints:
            raise InvalidInput(f"no endpoint {value!r} (selectors: {SELECTOR_HELP})")
        return {value}
    if key == "level":
        _known_level(fleet, value)
        return {e.id for e in endpoints if e.level == value}
    if key in ("under", "site"):
        _known_site(fleet, value)
        sites = subtree(fleet.sites, value) if key == "under" else {value}
        return {e.id for e in endpoints if e.site in sites}
    if key == "agency":
        if value not in fleet.agencies:
            raise InvalidInput(f"no agency {value!r} in this fleet")
        return {e.id for e in endpoints if e.agency == value}
    if key == "tag":
        return {e.id for e in endpoints if value in e.tags}
    return _under_level(fleet, key, value, endpoints)


def _under_level(fleet: Fleet, level: str, value: str, endpoints: Iterable[Endpoint]) -> set[str]:
    """``district:h-dai-tu``: the rooms under a site of the named level."""
    if level not in fleet.levels and level not in DEFAULT_LEVELS:
        keys = ", ".join((*KEYS, *fleet.levels))
        raise InvalidInput(f"unknown selector key {level!r} in {level}:{value} (keys: {keys})")
    _known_level(fleet, level)
    if value not in fleet.sites:
        raise InvalidInput(f"no {level} {value!r} in this fleet")
    if fleet.sites[value].level != level:
        raise InvalidInput(f"site {value!r} is a {fleet.sites[value].level}, not a {level}")
    sites = subtree(fleet.sites, value)
    return {e.id for e in endpoints if e.site in sites}


def _known_level(fleet: Fleet, level: str) -> None:
    if level not in fleet.levels:
        levels = ", ".join(fleet.levels)
        raise InvalidInput(f"no level {level!r} in this fleet (its levels: {levels})")


def _known_site(fleet: Fleet, site: str) -> None:
    if site not in fleet.sites:
        raise InvalidInput(f"no site {site!r} in this fleet")
