"""Times are inputs: ISO 8601, UTC when no offset is given, refused with INVALID_TIME otherwise."""

from datetime import UTC, datetime

import pytest

from lisens.domain.errors import InvalidInput
from lisens.domain.times import utc
from lisens.service.context import parse_time


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "", "0001-01-01T00:00:00+00:01"])
def test_a_time_that_is_not_iso_8601_or_not_expressible_in_utc_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_time(text)
    assert caught.value.code == "INVALID_TIME"


def test_a_date_without_an_offset_is_midnight_utc() -> None:
    assert parse_time("2026-11-22") == datetime(2026, 11, 22, tzinfo=UTC)
    assert parse_time("2026-11-22T10:00:00+01:00") == datetime(2026, 11, 22, 9, tzinfo=UTC)


def test_a_naive_datetime_from_the_database_is_taken_as_utc() -> None:
    assert utc(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
