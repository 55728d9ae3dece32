"""The member H5 pages (mobile first, 375 px wide)."""

from forecourt.web.member import card, coupons, history, login, profile, wallet

routers = [r.router for r in (login, card, coupons, wallet, history, profile)]
