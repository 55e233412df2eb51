"""REFERRER_SPAM_LIST: a file of referrer domains (Matomo's `spammers.txt` format) whose
events are dropped, on top of footfall's own short list."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.config import ConfigError, load_settings
from footfall.ingest.bots import SpamReferrers
from tests.ingest.conftest import CHROME_MAC, Server, rows


def test_a_listed_domain_and_its_subdomains_are_spam_others_are_not(tmp_path: Path) -> None:
    listed = tmp_path / "spammers.txt"
    listed.write_text("# from a maintained list\nspammy-seo.example\nWWW.Traffic-Bot.test  # shouting\n\n")
    spam = SpamReferrers.from_file(listed)
    assert spam.is_spam("https://spammy-seo.example/offer")
    assert spam.is_spam("http://www.spammy-seo.example/")
    assert spam.is_spam("https://cdn.traffic-bot.test/x?y=1")
    assert spam.is_spam("http://semalt.com/")  # footfall's own list still applies
    assert not spam.is_spam("https://notspammy-seo.example/")
    assert not spam.is_spam("https://example.test/spammy-seo.example")
    assert not spam.is_spam("http://[broken")


def test_a_bad_line_names_the_variable_and_the_line(tmp_path: Path) -> None:
    listed = tmp_path / "spammers.txt"
    listed.write_text("good.example\nnot a domain\n")
    with pytest.raises(ConfigError) as raised:
        load_settings({"DATA_DIR": str(tmp_path), "REFERRER_SPAM_LIST": str(listed)})
    assert str(raised.value) == f"REFERRER_SPAM_LIST: {listed}: line 2 is not a domain name: 'not a domain'"
    with pytest.raises(ConfigError, match="REFERRER_SPAM_LIST: no such file"):
        load_settings({"DATA_DIR": str(tmp_path), "REFERRER_SPAM_LIST": str(tmp_path / "none.txt")})


def test_events_referred_by_a_listed_domain_are_dropped(tmp_path: Path, services_with) -> None:
    listed = tmp_path / "spammers.txt"
    listed.write_text("spammy-seo.example\n")
    services = services_with(REFERRER_SPAM_LIST=str(listed))
    body = {"n": "pageview", "u": "https://example.com/", "d": "example.com"}
    with Server(services) as server:
        spam = server.post(
            {**body, "r": "https://www.spammy-seo.example/win"}, headers={"User-Agent": CHROME_MAC}
        )
        kept = server.post({**body, "r": "https://news.example.org/"}, headers={"User-Agent": CHROME_MAC})
        server.flush()
        assert (spam.status_code, spam.headers.get("x-plausible-dropped")) == (202, "1")
        assert (kept.status_code, kept.headers.get("x-plausible-dropped")) == (202, None)
        assert rows(services, "SELECT referrer FROM {db}.events") == [{"referrer": "news.example.org"}]
