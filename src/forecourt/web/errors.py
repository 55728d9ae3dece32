"""How a console shows an error: the error class's default message, translated, as the headline, and
the specific (English) message below it when it says more.

Default messages are the ``AppError`` classes'; their Chinese translations live in
``locales/zh_CN/LC_MESSAGES/errors.po`` (tests/web/test_error_translations.py checks every one).
"""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.web.i18n import current_language, gettext


@dataclass(frozen=True)
class ShownError:
    code: str
    headline: str
    detail: str | None


def shown(code: str, message: str, default_message: str | None = None) -> ShownError:
    if current_language() == "en" or not default_message:
        return ShownError(code, message, None)
    headline = gettext(default_message)
    if headline == default_message:  # no translation: the specific message says more
        return ShownError(code, message, None)
    return ShownError(code, headline, message if message != default_message else None)
