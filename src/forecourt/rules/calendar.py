"""Business-calendar facts conditions read: public holidays and make-up workdays (from the maintained
``chinese-calendar`` package, never a list of ours) and a member's birthday week."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import structlog

log = structlog.get_logger(__name__)


@lru_cache(maxsize=4096)
def holiday_facts(day: date) -> tuple[bool, bool]:
    """(is a public holiday, is a working day) for a local date. Holidays: the statutory days off
    (春节, 国庆 …); working days include the make-up Saturdays and Sundays (调休). For a year the
    package does not know yet, weekends are days off and nothing is a holiday."""
    try:
        detail = chinese_calendar.get_holiday_detail(day)
        return bool(detail[1] is not None and detail[0]), bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        log.warning("holiday_calendar_unknown_year", year=day.year)
        return False, day.isoweekday() < 6


def birthday_this_year(birthday: date, year: int) -> date:
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def in_birthday_week(birthday: date | None, day: date) -> bool:
    """True when ``day`` is in the Monday-to-Sunday week of the member's birthday."""
    if birthday is None:
        return False
    for year in (day.year - 1, day.year, day.year + 1):  # a week may straddle New Year
        this_year = birthday_this_year(birthday, year)
        monday = this_year - timedelta(days=this_year.isoweekday() - 1)
        if monday <= day <= monday + timedelta(days=6):
            return True
    return False
