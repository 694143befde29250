"""The times Lisens accepts: billing and license dates are computed from them (periods, renewals,
grace), so the edges of the calendar (years 1 and 9999) would overflow that arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lisens.domain.errors import Code, InvalidInput

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
TIME_RANGE = "1970-01-01T00:00:00Z .. 2999-12-31T23:59:59Z"


def in_range(moment: datetime) -> bool:
    """Whether `moment` (without an offset: UTC) lies within TIME_RANGE."""
    try:
        instant = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:  # an offset that leaves the calendar
        return False
    return EARLIEST <= instant <= LATEST


def day_in_range(day: date) -> bool:
    return EARLIEST.date() <= day <= LATEST.date()


def require_time(moment: datetime) -> datetime:
    if not in_range(moment):
        raise InvalidInput(
            f"time {moment.isoformat()} is outside {TIME_RANGE}", code=Code.INVALID_TIME, value=moment.isoformat()
        )
    return moment


def require_day(day: date) -> date:
    if not day_in_range(day):
        raise InvalidInput(
            f"date {day.isoformat()} is outside {TIME_RANGE}", code=Code.INVALID_TIME, value=day.isoformat()
        )
    return day


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken to be UTC already (SQLite returns naive values)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"time {moment.isoformat()} is out of range in UTC", code=Code.INVALID_TIME, value=moment.isoformat()
        ) from None
