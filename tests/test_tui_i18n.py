"""The console's two languages: the catalog is complete, compiles as gettext reads it, the
language is chosen as the README says, and dates read as each language writes them."""

from __future__ import annotations

import gettext
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from confsched_tui import i18n
from confsched_tui.text import count_rooms, fmt_ago, fmt_day, fmt_day_time, fmt_span

TUI = Path(__file__).resolve().parent.parent / "tui"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def source_msgids() -> set[str]:
    """Every string the console's code marks for translation, extracted now with Babel (as
    the README's refresh command does), so a new string fails here until it is translated."""
    found = extract_from_dir(str(TUI), method_map=[("confsched_tui/**.py", "python")])
    return {msgid if isinstance(msgid, str) else msgid[0] for _f, _l, msgid, *_ in found}


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
