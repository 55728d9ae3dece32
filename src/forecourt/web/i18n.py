"""UI languages: zh-CN by default, English available.

Source strings (msgids) are English; ``locales/zh_CN/LC_MESSAGES/*.po`` translate them. The catalogs
are split by console only so that each has one owner; they are merged into one translation table.
The ``.po`` files are compiled in memory at start-up (no compiled ``.mo`` files to keep in step).
The request's language lives in a context variable that the Jinja ``gettext`` callables and
Python code (``gettext``/``ngettext`` below) read.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
"""Language code → its name in itself (what the language switch shows)."""
LANGUAGE_COOKIE = "forecourt_lang"

_current: ContextVar[str] = ContextVar("web_language", default=DEFAULT_LANGUAGE)


def language_of(cookie_value: str | None, accept_language: str | None = None) -> str:
    """The cookie's language if it is one we have, else the browser's first one we have, else zh-CN."""
    if cookie_value in LANGUAGES:
        return cookie_value
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh_CN"
    return DEFAULT_LANGUAGE


def set_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def html_lang() -> str:
    """The ``<html lang>`` value of the current language."""
    return "zh-CN" if current_language() == "zh_CN" else "en"


@cache
def translations(language: str) -> NullTranslations:
    """Every catalog of ``language`` merged into one (English: the msgids themselves)."""
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    merged: Translations | None = None
    for po_file in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = Translations(compiled)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged or NullTranslations()


def gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(current_language()).pgettext(context, message))


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return str(translations(current_language()).npgettext(context, singular, plural, n))


def N_(message: str) -> str:
    """Marks a module-level string for extraction; translate it with ``gettext`` where it is shown."""
    return message
