"""How a console shows an error: the code's translated default message as the headline, and the
specific (English) message below it when it says more.

Error codes and default messages come from the ``AppError`` classes; their Chinese translations live
in ``locales/zh_CN/LC_MESSAGES/errors.po``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from forecourt.errors import AppError
from forecourt.web.i18n import current_language, gettext


@dataclass(frozen=True)
class ShownError:
    code: str
    headline: str
    detail: str | None


def _subclasses(cls: type[AppError]) -> list[type[AppError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


@lru_cache(maxsize=1)
def _default_messages() -> dict[str, str]:
    """code → default message, over the error classes imported so far (the app imports them all)."""
    classes: list[type[AppError]] = [AppError, *_subclasses(AppError)]
    return {cls.code: cls.default_message for cls in classes}


def shown(code: str, message: str) -> ShownError:
    default = _default_messages().get(code)
    if default is None:
        _default_messages.cache_clear()
        default = _default_messages().get(code)
    if current_language() == "en" or default is None:
        return ShownError(code, message, None)
    headline = gettext(default)
    if headline == default:  # no translation: the specific message says more
        return ShownError(code, message, None)
    return ShownError(code, headline, message if message != default else None)
