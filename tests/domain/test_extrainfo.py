"""The ExtraInfo codec parses and formats `set=a,b,c` exactly as documented."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisens.domain import extrainfo
from lisens.domain.errors import ExtraInfoError
from lisens.domain.extrainfo import format_extra_info, parse_extra_info

SALES_PREMIUM = (
    "set=user,web,pocket-crm-cal,selection-cal,relation-cal,report-cal,chat-cal,forms-cal,sale-cal,t2,saint-cal,"
    "target-cal,project-cal,quote-cal,guide-cal,stakeholder-cal,dash-cal,selection-combined-cal"
)

module_names = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
name_lists = st.lists(module_names, unique=True, max_size=30)


def test_the_documented_sales_premium_string_parses_into_its_eighteen_names_in_order() -> None:
    names = parse_extra_info(SALES_PREMIUM)
    assert len(names) == 18
    assert names[:3] == ("user", "web", "pocket-crm-cal")
    assert names[-1] == "selection-combined-cal"


def test_formatting_the_parsed_documented_string_gives_it_back_byte_for_byte() -> None:
    assert format_extra_info(parse_extra_info(SALES_PREMIUM)) == SALES_PREMIUM


def test_set_with_no_names_is_the_empty_plan() -> None:
    assert parse_extra_info("set=") == ()
    assert format_extra_info([]) == "set="


@given(name_lists)
def test_formatting_then_parsing_gives_back_the_same_list(names: list[str]) -> None:
    assert parse_extra_info(format_extra_info(names)) == tuple(names)


@given(name_lists)
def test_formatted_text_has_no_spaces_and_no_trailing_comma(names: list[str]) -> None:
    text = format_extra_info(names)
    assert text.startswith("set=")
    assert " " not in text
    assert not text.endswith(",")


@given(name_lists.filter(lambda names: len(names) > 0), st.data())
def test_a_repeated_name_is_refused_as_a_duplicate(names: list[str], data: st.DataObject) -> None:
    repeated = data.draw(st.sampled_from(names))
    with pytest.raises(ExtraInfoError) as caught:
        parse_extra_info("set=" + ",".join([*names, repeated]))
    assert caught.value.code == extrainfo.DUPLICATE
    assert repeated in caught.value.message


@given(
    st.text(alphabet=st.characters(blacklist_characters=",", blacklist_categories=("Cs",)), min_size=1).filter(
        lambda s: not extrainfo._ITEM_RE.fullmatch(s)
    )
)
def test_an_item_outside_the_license_name_alphabet_is_refused(item: str) -> None:
    with pytest.raises(ExtraInfoError) as caught:
        parse_extra_info(f"set=user,{item}")
    assert caught.value.code == extrainfo.BAD_CHARACTER


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", extrainfo.EMPTY),
        ("user,web", extrainfo.MISSING_SET),
        ("user", extrainfo.MISSING_SET),
        ("Set=user", extrainfo.MISSING_SET),
        ("list=user,web", extrainfo.UNKNOWN_KEY),
        ("set=user,,web", extrainfo.EMPTY_ITEM),
        ("set=user,web,", extrainfo.EMPTY_ITEM),
        ("set=,user", extrainfo.EMPTY_ITEM),
        ("set=user, web", extrainfo.BAD_CHARACTER),
        ("set=User,web", extrainfo.BAD_CHARACTER),
        ("set=user;web", extrainfo.BAD_CHARACTER),
        ("set=user=web", extrainfo.BAD_CHARACTER),
        ("set=superoffice.user", extrainfo.BAD_CHARACTER),
        ("set=user,web,user", extrainfo.DUPLICATE),
    ],
)
def test_malformed_extra_info_raises_a_typed_error_with_a_stable_code(text: str, code: str) -> None:
    with pytest.raises(ExtraInfoError) as caught:
        parse_extra_info(text)
    assert caught.value.code == code
    assert repr(text) in caught.value.message or text == ""


def test_names_unknown_to_the_catalog_are_refused_when_the_catalog_is_given() -> None:
    with pytest.raises(ExtraInfoError) as caught:
        parse_extra_info("set=user,no-such-license", known={"user", "web"})
    assert caught.value.code == extrainfo.UNKNOWN_LICENSE
    assert "no-such-license" in caught.value.message


def test_formatting_refuses_a_name_that_would_not_survive_the_round_trip() -> None:
    with pytest.raises(ExtraInfoError) as caught:
        format_extra_info(["user", "sale-cal,quote-cal"])
    assert caught.value.code == extrainfo.BAD_CHARACTER
    with pytest.raises(ExtraInfoError) as empty:
        format_extra_info(["user", ""])
    assert empty.value.code == extrainfo.EMPTY_ITEM
