"""Every error a client can see has its default message translated into Chinese."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import forecourt
from forecourt.errors import AppError, NotFound
from forecourt.web.i18n import translations


def _subclasses(cls: type[AppError]) -> Iterator[type[AppError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _every_error() -> list[type[AppError]]:
    for module in pkgutil.walk_packages(forecourt.__path__, f"{forecourt.__name__}."):
        importlib.import_module(module.name)
    return [AppError, *dict.fromkeys(_subclasses(AppError))]


def test_every_default_message_has_a_chinese_translation() -> None:
    zh = translations("zh_CN")
    missing = sorted(
        {
            f"{error.__module__}.{error.__qualname__} ({error.code}): {error.default_message!r}"
            for error in _every_error()
            if not zh.gettext(error.default_message).strip()
            or zh.gettext(error.default_message) == error.default_message
        }
    )
    assert not missing, "default messages without a zh_CN translation:\n" + "\n".join(missing)


def test_english_shows_the_default_message_itself() -> None:
    message = NotFound.default_message
    assert translations("en").gettext(message) == message
    assert translations("zh_CN").gettext(message) != message
