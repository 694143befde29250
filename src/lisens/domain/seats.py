"""Seats: how many of a plan, combined plan or restricted license are bought, in use and free."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeatCount:
    """`total` None means unrestricted (any number may hold it). More in use than bought (after a lowering
    that could not go below what is in use) is reported as `over`, never hidden as a negative `free`."""

    total: int | None
    in_use: int

    @property
    def free(self) -> int | None:
        return None if self.total is None else max(self.total - self.in_use, 0)

    @property
    def over(self) -> int:
        return 0 if self.total is None else max(self.in_use - self.total, 0)

    def can_take(self, number: int = 1) -> bool:
        """Whether `number` more users may take a seat: never more assigned than bought."""
        return self.total is None or self.in_use + number <= self.total
