"""Tenant tags: set, replaced, removed, shown with the tenant, and every change in the tenant's log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lisens.domain.errors import LisensError
from lisens.service import audit, tags, tenants
from lisens.service.context import Context
from tests.db.conftest import T0
from tests.db.helpers import make_tenant

AT = T0 + timedelta(hours=1)


def test_a_tag_is_set_replaced_removed_and_shown_with_the_tenant(ctx: Context) -> None:
    make_tenant(ctx)
    tags.set_tag(ctx, "acme", "segment", "smb", at=AT)
    tags.set_tag(ctx, "acme", "country", "NO", at=AT)
    assert tags.set_tag(ctx, "acme", "segment", "enterprise", at=AT).changed
    assert not tags.set_tag(ctx, "acme", "segment", "enterprise", at=AT).changed
    assert tenants.show_tenant(ctx, "acme").tags == {"country": "NO", "segment": "enterprise"}
    assert tags.remove_tag(ctx, "acme", "country", at=AT).tags == {"segment": "enterprise"}
    assert tags.list_tags(ctx, "acme").tags == {"segment": "enterprise"}


def test_every_tag_change_is_in_the_tenant_log(ctx: Context) -> None:
    make_tenant(ctx)
    tags.set_tag(ctx, "acme", "segment", "smb", at=AT)
    tags.set_tag(ctx, "acme", "segment", "smb", at=AT)
    tags.remove_tag(ctx, "acme", "segment", at=AT)
    actions = [e.action for e in audit.audit_log(ctx, "acme") if e.action.startswith("tag.")]
    assert actions == ["tag.set", "tag.remove"]
    assert audit.verify_log(ctx, "acme").ok


def test_removing_a_tag_the_tenant_lacks_is_refused(ctx: Context) -> None:
    make_tenant(ctx)
    with pytest.raises(LisensError) as caught:
        tags.remove_tag(ctx, "acme", "segment", at=AT)
    assert caught.value.code == "NO_TAG"


@pytest.mark.parametrize("text", ["Segment=x", "segment", "=x", "segment=", "segment= x", "k=a\x00b", "k=" + "x" * 201])
def test_a_bad_tag_is_refused_with_a_code(text: str) -> None:
    with pytest.raises(LisensError) as caught:
        tags.parse_tag(text)
    assert caught.value.code == "INVALID_TAG"
