"""The console's two languages: the catalog is complete, compiles as gettext reads it, the
language is chosen as the README says, and dates read as each language writes them."""

from __future__ import annotations

import asyncio
import gettext
import html
import io
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from confsched_tui import i18n
from confsched_tui.api import ApiClient
from confsched_tui.app import ConsoleApp
from confsched_tui.text import count_rooms, fmt_ago, fmt_day, fmt_day_time, fmt_span
from textual.pilot import Pilot
from textual.widgets import Static

from tests.fakes.console_api import FIXED_NOW, FakeServerThread
from tests.test_tui_snapshots import (
    BOOKED,
    SCREENS,
    SHOWN_URL,
    TOKENS,
    ask_to_cancel,
    book_with_conflicts,
    steps,
)

TUI = Path(__file__).resolve().parent.parent / "tui"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def source_msgids() -> set[str]:
    """Every string the console's code marks for translation, extracted now with Babel (as
    the README's refresh command does), so a new string fails here until it is translated."""
    found = extract_from_dir(str(TUI), method_map=[("confsched_tui/**.py", "python")])
    return {msgid if isinstance(msgid, str) else msgid[0] for _f, _l, msgid, *_ in found}


@cache
def vietnamese() -> dict[str, object]:
    with i18n.po_path("vi").open("rb") as source:
        catalog = read_po(source, locale="vi")
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def test_every_string_of_the_console_has_a_vietnamese_translation() -> None:
    catalog = vietnamese()
    missing = sorted(source_msgids() - set(catalog))
    assert not missing, f"not in vi.po (run the README's refresh command): {missing}"
    untranslated = sorted(
        key
        for key in source_msgids()
        if catalog[key].fuzzy or not all(catalog[key].string)  # type: ignore[attr-defined]
    )
    assert not untranslated, f"fuzzy or empty in vi.po: {untranslated}"


def test_translations_keep_every_placeholder_of_their_msgid() -> None:
    for key, message in vietnamese().items():
        strings = message.string  # type: ignore[attr-defined]
        for text in strings if isinstance(strings, tuple) else (strings,):
            assert sorted(_fields(text)) == sorted(_fields(key)), key


def _fields(text: str) -> list[str]:
    return [part.split("}")[0] for part in text.split("{")[1:]]


def test_the_catalog_compiles_to_what_babel_reads() -> None:
    """Our in-memory compiler against Babel's reader, entry by entry (the oracle)."""
    source = i18n.po_path("vi").read_text(encoding="utf-8")
    ours = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(source)))
    for key, message in vietnamese().items():
        strings = message.string  # type: ignore[attr-defined]
        if isinstance(message.id, tuple):  # type: ignore[attr-defined]
            singular, plural = message.id  # type: ignore[attr-defined]
            assert ours.ngettext(singular, plural, 2) == strings[0]
        else:
            assert ours.gettext(key) == strings
    assert ours.info()["plural-forms"] == "nplurals=1; plural=0;"


def test_po_strings_unescape_like_gettext() -> None:
    entries = i18n.parse_po(
        'msgid ""\nmsgstr "Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        '#, fuzzy\nmsgid "guess"\nmsgstr "đoán"\n\n'
        'msgid "empty"\nmsgstr ""\n\n'
        'msgctxt "menu"\nmsgid "Open"\nmsgstr "Mở"\n\n'
        'msgid "a \\"b\\"\\t"\n"c"\nmsgstr "x\\\\y"\n'
    )
    assert entries == {
        "": "Plural-Forms: nplurals=1; plural=0;\n",
        "menu\x04Open": "Mở",
        'a "b"\tc': "x\\y",
    }


@pytest.mark.parametrize(
    ("flag", "environ", "fleet", "chosen"),
    [
        ("en", {"LANG": "vi_VN.UTF-8"}, None, "en"),  # --lang first
        (None, {"LANG": "vi_VN.UTF-8"}, {"language": "en"}, "vi"),  # then the locale
        (None, {"LANG": "vi_VN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, None, "en"),  # LC_ALL wins
        (None, {"LC_MESSAGES": "en_US", "LANG": "vi_VN"}, None, "en"),
        (None, {"LANG": "C.UTF-8"}, {"language": "en", "timezone": "Asia/Ho_Chi_Minh"}, "en"),
        (None, {"LANG": "C.UTF-8"}, {"timezone": "Asia/Ho_Chi_Minh"}, "vi"),  # Vietnam's time
        (None, {}, {"timezone": "Europe/Paris"}, "en"),
        (None, {"LANG": "fr_FR.UTF-8"}, {"language": "vi"}, "vi"),  # a locale we lack
        (None, {"LANG": "POSIX"}, None, None),  # the fleet must be asked
    ],
)
def test_the_language_comes_from_the_flag_then_the_locale_then_the_fleet(
    flag: str | None,
    environ: dict[str, str],
    fleet: dict[str, object] | None,
    chosen: str | None,
) -> None:
    assert i18n.choose(flag, environ, fleet) == chosen


def test_an_unknown_language_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="unknown console language 'fr'"):
        i18n.use("fr")


def test_days_read_as_each_language_writes_them() -> None:
    local = MONDAY.astimezone(HCM)
    assert fmt_day(local, "en") == "Mon 07 Dec"
    assert fmt_day(local, "vi") == "Th 2, 07/12"
    assert fmt_day(local.replace(day=13), "vi") == "CN, 13/12"
    assert fmt_day_time(MONDAY, HCM, "vi") == "Th 2, 07/12 08:00"
    end = "2026-12-07T10:00:00+07:00"
    assert fmt_span(MONDAY.isoformat(), end, HCM, "en") == "Mon 07 Dec 08:00–10:00"
    assert fmt_span(MONDAY.isoformat(), end, HCM, "vi") == "Th 2, 07/12 08:00–10:00"


def test_dates_and_counts_follow_the_console_language() -> None:
    i18n.use("vi")
    assert fmt_day_time(MONDAY, HCM) == "Th 2, 07/12 08:00"
    assert fmt_ago("2026-12-07T00:55:00+00:00", MONDAY) == "5 phút trước"
    assert fmt_ago(None, MONDAY) == "chưa có"
    assert count_rooms(1) == "1 điểm cầu"
    assert count_rooms(2) == "2 điểm cầu"
    i18n.use("en")
    assert fmt_day_time(MONDAY, HCM) == "Mon 07 Dec 08:00"
    assert fmt_ago("2026-12-07T00:55:00+00:00", MONDAY) == "5 min ago"
    assert count_rooms(2) == "2 rooms"


def test_the_catalog_ships_in_the_package_data() -> None:
    """Both distributions that hold the console list the catalogs as package data."""
    root = TUI.parent
    for pyproject in (root / "pyproject.toml", TUI / "pyproject.toml"):
        assert '"locale/*/LC_MESSAGES/*.po"' in pyproject.read_text(encoding="utf-8")
    assert i18n.po_path("vi").is_file()


# -- the console in Vietnamese, screen by screen -------------------------------------------
WORD = re.compile(r"\w+")
SELECTOR = re.compile(r"[A-Za-z]+:[^\s,]+")
"""Selector and URL syntax (``state:down``, ``under:h-dai-tu``, ``http://…``): the CLI's
language, the same in both."""
CELL = 12.2
"""Rich's SVG cell width (0.61 of its 20 px font): a text's x says its column."""


def ascii_words(text: str) -> set[str]:
    """Lower-case words made of ASCII letters only (a Vietnamese word has a diacritic or is
    checked against the Vietnamese catalog); placeholders and selector syntax left out."""
    bare = SELECTOR.sub(" ", re.sub(r"\{[^}]*\}", " ", text))
    return {w.lower() for w in WORD.findall(bare) if w.isascii() and w.isalpha() and len(w) > 1}


def interface_words() -> set[str]:
    """English words of the interface: the msgids' words no Vietnamese translation uses."""
    catalog = vietnamese()
    english = set().union(*(ascii_words(key) for key in catalog))
    strings = [m.string for m in catalog.values()]  # type: ignore[attr-defined]
    flat = [s for item in strings for s in (item if isinstance(item, tuple) else (item,))]
    return english - set().union(*(ascii_words(s) for s in flat))


def screen_text(svg: str) -> str:
    """The screen as text, a line per row, each text at its column (from Textual's SVG)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        content = html.unescape(re.sub("<[^>]+>", "", m[3]))
        rows.setdefault(float(m[2]), []).append((float(m[1]), content))
    lines = []
    for _y, parts in sorted(rows.items()):
        line = ""
        for x, content in sorted(parts):
            line = line.ljust(round(x / CELL) - 1) + content
        lines.append(line)
    return "\n".join(lines)


def strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def record_answers(api: ApiClient) -> list[object]:
    """Every answer the scheduler gives the console: its data (names, reasons, ids) is not the
    interface, whatever language it is in."""
    answers: list[object] = []
    for name in ("get", "post"):
        original = getattr(api, name)

        async def recording(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            answer = await _original(*args, **kwargs)
            answers.append(answer)
            return answer

        setattr(api, name, recording)
    return answers


def english_left(svg: str, data: list[str], english: set[str] | None) -> set[str]:
    """Interface words still in English on a screen, once the data shown is taken out (with
    ``english`` None: every word left)."""
    text = SELECTOR.sub(" ", screen_text(svg))
    for value in sorted(set(data), key=len, reverse=True):
        if len(value) > 2:
            text = text.replace(value, " ")
    data_words = set().union(set(), *(ascii_words(v) for v in data))
    words = ascii_words(text)
    return (words if english is None else words & english) - data_words


def is_key(value: str) -> bool:
    """A state or status the API sends as one word (``degraded``, ``cancelled``) that the
    console shows as a word of its own: interface, not data."""
    return " " not in value and value in vietnamese()


async def free_slots(pilot: Pilot[Any]) -> None:
    await book_with_conflicts(pilot)
    await pilot.press("ctrl+n")
    await until(pilot, lambda: pilot.app.screen.query_one("#slots").display)


async def cancelled(pilot: Pilot[Any]) -> None:
    await ask_to_cancel(pilot)
    await pilot.press("y")
    await until(pilot, lambda: getattr(pilot.app.screen, "cancelled", False))
    await pilot.pause(0.2)


async def until(pilot: Pilot[Any], done: Callable[[], object], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, "the console never got there"
        await pilot.pause(0.05)


def walk() -> dict[str, Callable[[Pilot[Any]], Awaitable[None]]]:
    from confsched_tui.screens.endpoint import EndpointScreen
    from confsched_tui.screens.session import SessionScreen

    paths = dict(SCREENS)
    paths["fleet, only the rooms down"] = steps("3")
    paths["endpoint offline"] = steps("4", "enter", then=EndpointScreen)
    for n in range(1, 4):
        paths[f"session {n + 1}"] = steps("f3", *["down"] * n, "enter", then=SessionScreen)
    paths["free slots"] = free_slots
    paths["cancelled, with its notification"] = cancelled
    paths["read-only, booking refused"] = refused
    return paths


WALK_TOKENS = {**TOKENS, "read-only, booking refused": "viewer-secret"}


async def refused(pilot: Pilot[Any]) -> None:
    """A viewer's console told to book: the refusal's notification, and how to give a token."""
    await until(pilot, lambda: getattr(pilot.app, "read_only", False))
    await book_with_conflicts(pilot)
    pilot.app.clear_notifications()
    await pilot.press("ctrl+s")
    await until(pilot, lambda: bool(pilot.app._notifications))
    await pilot.pause(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("path", list(walk()))
async def test_the_vietnamese_console_shows_no_english_word_of_its_interface(path: str) -> None:
    """Every screen, dialog and notification with ``--lang vi``: no word of the msgids left
    in English, nor any word the same screen shows in English that Vietnamese never uses (a
    literal outside ``_()`` is no msgid); the scheduler's data, names, ids and reasons
    excluded."""
    english = interface_words()
    assert {"sessions", "readiness", "book", "ready", "down"} <= english  # the check can fail
    shown_in_english = await walk_in(path, "en", set())
    assert shown_in_english, f"the {path} screen in English shows no word"
    left = await walk_in(path, "vi", english | (shown_in_english - vietnamese_words()))
    assert not left, f"English on the {path} screen in Vietnamese: {sorted(left)}"


async def walk_in(path: str, lang: str, english: set[str]) -> set[str]:
    """Go to ``path`` in ``lang``, notifications shown: the words of ``english`` left on the
    screen, or (``english`` empty) every interface word on it."""
    with FakeServerThread(long_poll_s=30.0) as fake:
        token = WALK_TOKENS.get(path, "operator-secret")
        app = ConsoleApp(url=fake.url, token=token, clock=lambda: FIXED_NOW, lang=lang)
        answers = record_answers(app.api)
        async with app.run_test(size=(160, 50), notifications=True) as pilot:
            await walk()[path](pilot)
            await pilot.pause(0.1)
            shown = [*strings_in(answers), *BOOKED.values(), SHOWN_URL]
            data = [value for value in shown if not is_key(value)]
            return english_left(app.export_screenshot(), data, english or None)


@cache
def vietnamese_words() -> set[str]:
    """ASCII words the Vietnamese catalog itself uses (``MCU``, ``RTT``, selector keys,
    ``token``): the same in both languages."""
    strings = [m.string for m in vietnamese().values()]  # type: ignore[attr-defined]
    flat = [s for item in strings for s in (item if isinstance(item, tuple) else (item,))]
    return set().union(*(ascii_words(s) for s in flat)) | KEY_NAMES


KEY_NAMES = {"esc", "enter", "tab", "shift", "ctrl"}
"""The keyboard's own names, shown as they are in both languages."""


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
async def test_a_scheduler_out_of_reach_is_said_in_vietnamese(size: tuple[int, int]) -> None:
    """Nothing listens: the status line says so (and when it retries) in Vietnamese, whole
    at 80 columns, and no English word of the interface is on the screen."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening
        app = ConsoleApp(url=url, token="operator-secret", clock=lambda: FIXED_NOW, lang="vi")
        async with app.run_test(size=size, notifications=True) as pilot:
            status_line = app.screen.query_one("#status", Static)
            await until(pilot, lambda: "liên lạc" in str(status_line.content))  # a loaded machine
            await pilot.pause(0.2)
            svg = app.export_screenshot()
    status = screen_text(svg).replace("\xa0", " ").splitlines()[-2].strip()
    assert status.startswith("không liên lạc được máy chủ lập lịch")
    assert status.endswith("giây"), f"cut: {status!r}"
    assert not english_left(svg, [url, url.removeprefix("http://")], interface_words())


def test_the_english_check_finds_an_english_word_left_on_a_screen() -> None:
    svg = '<text class="r1" x="12.2" y="20" textLength="1">Sẵn&#160;sàng&#160;Sessions</text>'
    assert english_left(svg, [], {"sessions"}) == {"sessions"}
    assert english_left(svg, ["Sessions"], {"sessions"}) == set()
