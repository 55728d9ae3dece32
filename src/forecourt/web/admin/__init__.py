"""The admin (head office) console."""

from forecourt.web.admin import audit, coupons, dashboard, finance, members, program, staff, stations

routers = [r.router for r in (dashboard, members, program, coupons, finance, stations, staff, audit)]
