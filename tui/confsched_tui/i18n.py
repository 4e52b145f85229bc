"""The console's words in Vietnamese or English, through gettext catalogs.

English is the source language (the msgids). Vietnamese lives in
``locale/vi/LC_MESSAGES/confsched_tui.po``, refreshed from the source with Babel (the one-line
command is in the README). The ``.po`` is compiled in memory when the console starts (a few
hundred entries, about a millisecond), so an editable install and the wheel ship the same file
and there is no compiled ``.mo`` that could fall behind its source.

One translation is active per process, as in gettext itself: the console chooses it once at
start (:func:`choose`), and every screen, widget and pure view helper asks :func:`_` at the
moment it draws. Words kept in module-level tables are marked with :func:`N_` (so Babel finds
them) and translated where they are shown.
"""

from __future__ import annotations

import ast
import gettext
import io
import struct
from collections.abc import Mapping
from functools import cache
from pathlib import Path

DOMAIN = "confsched_tui"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
SOURCE_LANGUAGE = "en"
VIETNAMESE_ZONES = frozenset({"Asia/Ho_Chi_Minh", "Asia/Saigon"})
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
"""POSIX precedence: the first one set decides what the locale asks for."""


class _Active:
    """The translation in force (English until the console chooses)."""

    language = SOURCE_LANGUAGE
    translation: gettext.NullTranslations = gettext.NullTranslations()


def _(message: str) -> str:
    """``message`` in the console's language ("" stays "": gettext would give the header)."""
    return _Active.translation.gettext(message) if message else message


def ngettext(singular: str, plural: str, count: int) -> str:
    return _Active.translation.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks a word for extraction where it is defined; :func:`_` translates it where shown."""
    return message


def current() -> str:
    return _Active.language


def use(language: str) -> None:
    """Make ``language`` (``vi`` or ``en``) the console's from now on."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown console language {language!r} (vi or en)")
    _Active.language = language
    _Active.translation = translation(language)


@cache
def translation(language: str) -> gettext.NullTranslations:
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    source = (po_path(language)).read_text(encoding="utf-8")
    return gettext.GNUTranslations(io.BytesIO(compile_po(source)))


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


# -- choosing ------------------------------------------------------------------------------
def from_locale(environ: Mapping[str, str]) -> str | None:
    """``vi`` for ``vi_VN.UTF-8``, ``en`` for ``en_GB``; None when the locale says nothing we
    have (unset, ``C``, ``POSIX``, another language): the fleet decides then."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            language = value.split(".")[0].split("_")[0].split("@")[0].lower()
            return language if language in LANGUAGES else None
    return None


def from_fleet(fleet: Mapping[str, object]) -> str:
    """The fleet's ``language`` setting; else Vietnamese for a fleet on Vietnam's time."""
    setting = str(fleet.get("language") or "").lower()
    if setting in LANGUAGES:
        return setting
    return "vi" if fleet.get("timezone") in VIETNAMESE_ZONES else SOURCE_LANGUAGE


def choose(
    flag: str | None, environ: Mapping[str, str], fleet: Mapping[str, object] | None
) -> str | None:
    """``--lang``, else the locale, else the fleet (None: ask again once the fleet is known)."""
    if flag:
        return flag
    decided = from_locale(environ)
    if decided is not None:
        return decided
    return from_fleet(fleet) if fleet is not None else None


# -- compiling -----------------------------------------------------------------------------
def parse_po(text: str) -> dict[str, str]:
    """The translated entries of a ``.po`` file as ``.mo`` keys and values: ``msgid`` (with
    ``ctxt\\x04`` before it, and ``\\0msgid_plural`` after it) to the ``msgstr`` (plural forms
    joined by ``\\0``). Fuzzy and untranslated entries are left out, as ``msgfmt`` does."""
    entries: dict[str, str] = {}
    for block in text.split("\n\n"):
        fields, fuzzy = _fields(block)
        if fuzzy or "msgid" not in fields:
            continue
        key = fields["msgid"]
        if "msgid_plural" in fields:
            key += "\0" + fields["msgid_plural"]
        if "msgctxt" in fields:
            key = fields["msgctxt"] + "\x04" + key
        forms = [fields[k] for k in sorted(fields) if k.startswith("msgstr")]
        if any(forms):
            entries[key] = "\0".join(forms)
    return entries


def _fields(block: str) -> tuple[dict[str, str], bool]:
    fields: dict[str, str] = {}
    fuzzy = False
    name = ""
    for raw in block.splitlines():
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            fields[name] += _unquote(line)
            continue
        name, _space, rest = line.partition(" ")
        name = name.replace("[", "_").rstrip("]")  # msgstr[1] -> msgstr_1 (sorts after msgstr_0)
        fields[name] = _unquote(rest)
    return fields, fuzzy


def _unquote(text: str) -> str:
    """A ``.po`` string literal (C escapes, which Python's literal syntax shares)."""
    value = ast.literal_eval(text.strip())
    if not isinstance(value, str):
        raise ValueError(f"not a string in the catalog: {text!r}")
    return value


def compile_po(text: str) -> bytes:
    """A GNU ``.mo`` image of the catalog (no hash table: gettext reads it into a dict)."""
    entries = sorted((k.encode(), v.encode()) for k, v in parse_po(text).items())
    count = len(entries)
    keys_at = 7 * 4
    values_at = keys_at + count * 8
    data_at = values_at + count * 8
    table: list[int] = []
    blob = b""
    for key, _value in entries:
        table += [len(key), data_at + len(blob)]
        blob += key + b"\0"
    for _key, value in entries:
        table += [len(value), data_at + len(blob)]
        blob += value + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, keys_at, values_at, 0, data_at)
    return header + struct.pack(f"<{len(table)}I", *table) + blob
