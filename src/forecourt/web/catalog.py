"""Which UI strings lack a translation: ``python -m forecourt.web.catalog`` lists them;
``--add member.po --only templates/member,member/`` appends those found under the given paths to that
zh-CN catalog with an empty ``msgstr`` to fill in.

Messages are extracted with Babel from the console's templates (Jinja2 ``_``/``gettext``/``trans``) and
Python modules (``gettext``, ``ngettext``, ``N_``) and looked up in every zh-CN catalog.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from forecourt.web.i18n import LOCALES_DIR

WEB_DIR = Path(__file__).parent
METHOD_MAP = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS_MAP = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}


@dataclass(frozen=True)
class Message:
    msgid: str
    plural: str | None
    context: str | None
    where: str


def extracted() -> Iterator[Message]:
    for filename, lineno, message, _comments, context in extract_from_dir(
        WEB_DIR, METHOD_MAP, OPTIONS_MAP, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
        else:
            singular, plural = message, None
        if singular:
            yield Message(singular, plural, context, f"{filename}:{lineno}")


def translated(language: str = "zh_CN") -> dict[tuple[str, str | None], object]:
    """msgid (and context) → translation, over every catalog of ``language`` (fuzzy ones left out)."""
    found: dict[tuple[str, str | None], object] = {}
    for po_file in sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as handle:
            for entry in read_po(handle, locale=language):
                if not entry.id or entry.fuzzy:
                    continue
                msgid = str(entry.id[0] if isinstance(entry.id, tuple | list) else entry.id)
                strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
                if all(strings):
                    found[(msgid, entry.context)] = entry.string
    return found


def missing(language: str = "zh_CN") -> list[Message]:
    have = translated(language)
    seen: set[tuple[str, str | None]] = set()
    result = []
    for message in extracted():
        key = (message.msgid, message.context)
        if key not in have and key not in seen:
            seen.add(key)
            result.append(message)
    return result


def add_missing(po_name: str, prefixes: list[str]) -> int:
    """Append the untranslated messages found under ``prefixes`` to the zh-CN catalog ``po_name``."""
    path = LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / po_name
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="zh_CN")
    else:
        catalog = Catalog(locale="zh_CN", project="forecourt", fuzzy=False)
    added = 0
    for message in missing():
        if prefixes and not message.where.startswith(tuple(prefixes)):
            continue
        key = (message.msgid, message.plural) if message.plural else message.msgid
        if catalog.get(message.msgid, message.context) is None:
            catalog.add(key, "" if not message.plural else ("",), context=message.context)
            added += 1
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, sort_output=False)
    return added


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--add", metavar="PO", help="catalog file name under locales/zh_CN/LC_MESSAGES")
    parser.add_argument("--only", default="", help="comma-separated path prefixes (relative to web/)")
    args = parser.parse_args()
    if args.add:
        count = add_missing(args.add, [p for p in args.only.split(",") if p])
        sys.stdout.write(f"{count} message(s) added to {args.add}\n")
        return 0
    gaps = missing()
    for message in gaps:
        sys.stdout.write(f"{message.where}\n  msgid {message.msgid!r}\n")
    sys.stdout.write(f"{len(gaps)} message(s) without a zh-CN translation\n")
    return 1 if gaps else 0


if __name__ == "__main__":
    raise SystemExit(main())
