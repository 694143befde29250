"""The change feed's rules: every logged action is an event type, signatures per Standard Webhooks, retries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import lisens
from lisens.domain.events import (
    ALL_TYPES,
    EVENT_TYPES,
    RETRY_WINDOW,
    event_type,
    message_id,
    next_attempt,
    require_types,
    wanted,
)
from lisens.service.webhooks import sign, verify

SOURCE = Path(lisens.__file__).parent
ACTION = re.compile(r'action="([a-z_.]+)"|"action": "([a-z_.]+)"')

# The example of the Standard Webhooks specification (github.com/standard-webhooks/standard-webhooks, spec).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_every_action_the_services_log_maps_to_a_named_event_type() -> None:
    written = set()
    for path in SOURCE.rglob("*.py"):
        for match in ACTION.finditer(path.read_text(encoding="utf-8")):
            written.add(match.group(1) or match.group(2))
    written |= {"seats.set", "user.retire"}
    missing = sorted(a for a in written if a not in EVENT_TYPES)
    assert missing == []
    assert event_type("assign") == "assignment.created"
    assert event_type("unassign") == "assignment.removed"
    assert event_type("invoice.issue") == "invoice.issued"
    assert event_type("move.apply") == "generation.moved"


def test_an_action_of_no_known_type_is_still_an_event() -> None:
    assert event_type("something.new") == "log.something.new"


def test_the_signature_is_the_one_the_specification_publishes_for_its_example() -> None:
    moment = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)
    assert sign(SPEC_SECRET, SPEC_ID, moment, SPEC_BODY) == SPEC_SIGNATURE


def test_a_receiver_accepts_a_fresh_signed_delivery_and_refuses_a_changed_body() -> None:
    now = datetime.now(UTC)  # the receiver's clock: the library allows five minutes of skew
    headers = {
        "webhook-id": "msg_1_1_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(SPEC_SECRET, "msg_1_1_1", now, b'{"a":1}'),
    }
    assert verify(SPEC_SECRET, b'{"a":1}', headers) == {"a": 1}
    with pytest.raises(Exception, match="signature"):
        verify(SPEC_SECRET, b'{"a":2}', headers)


def test_retries_back_off_and_go_on_for_at_least_a_day_before_the_delivery_is_dead() -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    now, attempts, waits = first, 1, []
    while (retry := next_attempt(first, attempts, now)) is not None:
        waits.append(retry - now)
        now, attempts = retry, attempts + 1
    assert waits[:3] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert max(waits) == timedelta(hours=1)
    assert now - first >= RETRY_WINDOW
    assert attempts < 60


def test_a_message_id_names_the_endpoint_the_tenant_and_the_sequence_number() -> None:
    assert message_id(3, 7, 42) == "msg_3_7_42"


def test_filters_take_types_and_patterns_and_refuse_unknown_types() -> None:
    assert require_types(["assignment.*", "user.created"]) == ("assignment.*", "user.created")
    assert wanted(("assignment.*",), "assignment.removed")
    assert not wanted(("assignment.*",), "user.created")
    assert wanted((), "user.created")
    assert "invoice.issued" in ALL_TYPES
    with pytest.raises(ValueError, match="unknown event types"):
        require_types(["assignments.created"])
