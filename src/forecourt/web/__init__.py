"""The web consoles: admin (HQ), station (attendants and managers) and member H5 pages.

Server-rendered Jinja2 + htmx, assets vendored under ``static/``, strings translated through the
gettext catalogs under ``locales/`` (zh-CN by default, English available). Pages call the same
services as the API and declare access with the API's permissions (``web.access``).
"""
