"""The Jinja2 environment of the consoles and ``render``, the one way a page is answered.

Templates get, besides their context: ``_``/``gettext``/``ngettext`` (the request's language),
``csrf_token()``, ``static(path)``, ``url_for``, the current ``actor`` or ``member`` if any, and
filters ``yuan`` (fen → ¥12.34), ``points``, ``chain_time`` and ``chain_day``.
"""

from __future__ import annotations

from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.templating import Jinja2Templates

from forecourt.kit.clock import to_chain_time
from forecourt.web import i18n, nav
from forecourt.web.errors import shown as show_error
from forecourt.web.security import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
_ASSET_VERSION = version("forecourt")


def yuan(fen: int | None) -> str:
    """Integer fen as ¥ with two decimals and thousands separators (¥-1,234.50 for negatives)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def points(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def chain_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC moment shown in the chain's time zone."""
    return "—" if moment is None else to_chain_time(moment).strftime(pattern)


def chain_day(moment: datetime | date | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return to_chain_time(moment).strftime("%Y-%m-%d")
    return moment.isoformat()


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext,
        ngettext=i18n.ngettext,
        pgettext=i18n.pgettext,
        npgettext=i18n.npgettext,
        newstyle=True,
    )
    env.filters.update(yuan=yuan, points=points, chain_time=chain_time, chain_day=chain_day)
    env.globals.update(
        languages=i18n.LANGUAGES,
        current_language=i18n.current_language,
        html_lang=i18n.html_lang,
        static=lambda path: f"/static/{path}?v={_ASSET_VERSION}",
        admin_nav=nav.ADMIN_NAV,
        station_nav=nav.STATION_NAV,
        member_nav=nav.MEMBER_NAV,
        visible_nav=nav.visible,
        show_error=show_error,
    )
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` for ``request`` in the request's language."""
    values: dict[str, Any] = {
        "actor": getattr(request.state, "actor", None),
        "member": getattr(request.state, "web_member", None),
        "csrf_token": lambda: csrf_token(request),
        "htmx": request.headers.get("hx-request") == "true",
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code, headers=headers)
    return response
