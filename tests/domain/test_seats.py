"""Seats bought, in use and free: free never below 0, more in use than bought reported as over."""

from hypothesis import given
from hypothesis import strategies as st

from lisens.domain.seats import SeatCount


def test_free_seats_are_what_is_bought_less_what_is_in_use() -> None:
    assert (SeatCount(10, 3).free, SeatCount(10, 3).over) == (7, 0)
    assert SeatCount(3, 3).free == 0


def test_more_in_use_than_bought_is_over_assigned_never_a_negative_free() -> None:
    seats = SeatCount(3, 5)
    assert (seats.free, seats.over) == (0, 2)
    assert not seats.can_take()


def test_an_unrestricted_license_has_no_total_and_always_a_seat() -> None:
    seats = SeatCount(None, 1_000_000)
    assert (seats.free, seats.over) == (None, 0)
    assert seats.can_take(10)


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 100))
def test_a_seat_can_be_taken_exactly_while_the_taken_ones_still_fit(total: int, in_use: int, number: int) -> None:
    seats = SeatCount(total, in_use)
    assert seats.can_take(number) == (in_use + number <= total)
    assert seats.free is not None
    assert seats.free >= 0
    assert seats.free - seats.over == total - in_use
