"""Parsing the body of POST /api/event: what Plausible's trackers send, and every error."""

import pytest

from footfall.ingest.request import (
    MISSING_SCROLL_DEPTH,
    RequestInvalid,
    decode_body,
    parse_event,
)


def parse(body: bytes | str):
    return parse_event(decode_body(body.encode() if isinstance(body, str) else body))


def errors_of(body: str) -> dict:
    with pytest.raises(RequestInvalid) as caught:
        parse(body)
    return caught.value.errors


def test_short_field_names_as_the_tracker_sends_them() -> None:
    request = parse(
        '{"n":"pageview","u":"https://www.Example.com:8443/blog/post?utm_source=news#top",'
        '"d":"example.com","r":"https://news.ycombinator.com/","v":42,"w":1280}'
    )
    assert request.name == "pageview"
    assert request.hostname == "example.com"
    assert request.pathname == "/blog/post"
    assert request.domains == ["example.com"]
    assert request.referrer == "https://news.ycombinator.com/"
    assert request.query == {"utm_source": "news"}
    assert request.interactive is True


def test_long_field_names_work_too() -> None:
    request = parse(
        '{"name":"Signup","url":"https://example.com/","domain":"example.com","referrer":null,'
        '"props":{"plan":"pro"},"revenue":{"amount":"12.5","currency":"eur"},"interactive":false}'
    )
    assert (request.name, request.referrer, request.props) == ("Signup", None, {"plan": "pro"})
    assert (request.revenue_amount, request.revenue_currency) == ("12.500", "EUR")
    assert request.interactive is False


def test_props_may_be_a_string_holding_json_and_are_filtered_like_plausible() -> None:
    request = parse(
        '{"n":"x","u":"https://example.com/","d":"example.com",'
        '"p":"{\\"a\\":1,\\"b\\":true,\\"c\\":\\"\\",\\"d\\":[1],\\"e\\":{\\"f\\":1},\\"g\\":1.5}"}'
    )
    assert request.props == {"a": "1", "b": "true", "g": "1.5"}
    assert parse('{"n":"x","u":"https://e.com/","d":"e.com","m":"not json"}').props == {}


def test_at_most_thirty_props_are_kept() -> None:
    props = ",".join(f'"k{i}":"v{i}"' for i in range(40))
    request = parse('{"n":"x","u":"https://example.com/","d":"example.com","p":{' + props + "}}")
    assert len(request.props) == 30


def test_several_domains_and_www_stripped_and_fallback_to_the_url_host() -> None:
    assert parse('{"n":"pageview","u":"https://a.com/","d":"www.a.com, b.org"}').domains == ["a.com", "b.org"]
    assert parse('{"n":"pageview","u":"https://www.shop.io/x"}').domains == ["shop.io"]


def test_hash_mode_keeps_the_fragment_in_the_pathname() -> None:
    request = parse('{"n":"pageview","u":"https://a.com/app#/settings%20page","d":"a.com","h":1}')
    assert request.pathname == "/app#/settings page"
    assert parse('{"n":"pageview","u":"https://a.com/app#/x","d":"a.com"}').pathname == "/app"


def test_engagement_reads_scroll_depth_and_engaged_time() -> None:
    request = parse('{"n":"engagement","u":"https://a.com/","d":"a.com","sd":120,"e":"5300"}')
    assert (request.scroll_depth, request.engagement_time) == (100, 5300)
    only_time = parse('{"n":"engagement","u":"https://a.com/","d":"a.com","e":10}')
    assert only_time.scroll_depth == MISSING_SCROLL_DEPTH


def test_an_integer_event_name_is_accepted_as_text() -> None:
    assert parse('{"n":404,"u":"https://a.com/","d":"a.com"}').name == "404"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ("not json", {"request": ["Unable to parse request body as json"]}),
        ("[1,2]", {"request": ["Unable to parse request body as json"]}),
        ('{"u":"https://a.com/","d":"a.com"}', {"name": ["can't be blank"]}),
        (
            '{"n":"' + "x" * 121 + '","u":"https://a.com/","d":"a.com"}',
            {"name": ["should be at most 120 character(s)"]},
        ),
        ('{"n":"pageview","d":"a.com"}', {"url": ["is required"]}),
        (
            '{"n":"pageview","u":"https://a.com/' + "x" * 2000 + '","d":"a.com"}',
            {"url": ["must be a valid url"]},
        ),
        ('{"n":"pageview","u":"data:text/html,hi","d":"a.com"}', {"url": ["scheme is not allowed"]}),
        ('{"n":"pageview","u":"http://[::1/","d":"a.com"}', {"url": ["must be a valid url"]}),
        ('{"n":"pageview","u":"https://a.com/","d":""}', {"domain": ["can't be blank"]}),
        ('{"n":"pageview","u":"/relative"}', {"domain": ["can't be blank"]}),
        (
            '{"n":"x","u":"https://a.com/","d":"a.com","p":{"k":"' + "v" * 2001 + '"}}',
            {"props": ["keys should have at most 300 bytes and values 2000 bytes"]},
        ),
        (
            '{"n":"engagement","u":"https://a.com/","d":"a.com"}',
            {
                "name": [
                    "engagement event requires a valid integer value for at least one of 'sd' or 'e' fields"
                ]
            },
        ),
    ],
)
def test_invalid_bodies_name_the_field(body: str, errors: dict) -> None:
    assert errors_of(body) == errors


def test_engagement_numbers_in_other_scripts_digits_are_not_numbers() -> None:
    # "²" and "٣" pass str.isdigit but are no integers to int(): once a ValueError and a 500.
    body = '{"n":"engagement","u":"https://a.com/","d":"a.com","sd":"²","e":"٣"}'
    assert errors_of(body) == {
        "name": ["engagement event requires a valid integer value for at least one of 'sd' or 'e' fields"]
    }
    request = parse('{"n":"engagement","u":"https://a.com/","d":"a.com","sd":" 42 ","e":"²"}')
    assert (request.scroll_depth, request.engagement_time) == (42, 0)
    # One sign at most: "--5" is no number either (int refuses it too).
    request = parse('{"n":"engagement","u":"https://a.com/","d":"a.com","sd":"--5","e":" 7"}')
    assert (request.scroll_depth, request.engagement_time) == (255, 7)


def test_the_url_limit_counts_bytes_not_characters() -> None:
    # 20 + 990 two-byte characters: 1,010 characters, 2,000 bytes (the limit) then 2,002.
    at_limit = "https://example.com/" + "é" * 990
    assert len(at_limit.encode()) == 2_000
    assert parse('{"n":"pageview","u":"' + at_limit + '","d":"example.com"}').pathname.endswith("é")
    over = at_limit + "é"
    assert errors_of('{"n":"pageview","u":"' + over + '","d":"example.com"}') == {
        "url": ["must be a valid url"]
    }


def test_invalid_revenue_is_ignored_not_an_error() -> None:
    for revenue in ('{"amount":"x","currency":"EUR"}', '{"amount":1,"currency":"EURO"}', '"nope"', "[1]"):
        request = parse('{"n":"x","u":"https://a.com/","d":"a.com","$":' + revenue + "}")
        assert request.revenue_amount is None
