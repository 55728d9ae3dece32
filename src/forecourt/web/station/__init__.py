"""The station console for attendants and managers (scanner and touch screen)."""

from forecourt.web.station import manage, sell, shift, till, verify

routers = [r.router for r in (sell, verify, manage, shift, till)]
