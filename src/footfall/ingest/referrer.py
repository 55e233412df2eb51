"""Referrer -> the cleaned referrer and its source ('Google', 'Facebook', 'news.site.org').

As in Plausible, a `utm_source`, `source` or `ref` query parameter on the page URL wins
over the Referer; known names are matched case-insensitively ('google' -> 'Google',
shorthands such as 'ig' -> 'Instagram'); an unknown referrer is named by its host
without `www.`; a referrer from the page's own host (or localhost) is no source at all.
Each known source carries the category ('search', 'social', ...) that channel.py uses.
The table below is footfall's own, covering the sources that bring most traffic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from footfall.ingest.request import sanitize_hostname

SEARCH, SOCIAL, VIDEO, SHOPPING, EMAIL, AI = "search", "social", "video", "shopping", "email", "ai"

# Source name -> (category, hosts). A host matches itself and its subdomains.
KNOWN_SOURCES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "Google": (SEARCH, ()),  # google.<tld> and google.co.<tld>, matched by pattern below
    "Bing": (SEARCH, ("bing.com", "cn.bing.com")),
    "DuckDuckGo": (SEARCH, ("duckduckgo.com", "start.duckduckgo.com")),
    "Yahoo!": (SEARCH, ("search.yahoo.com", "yahoo.com", "yahoo.co.jp", "search.yahoo.co.jp")),
    "Yandex": (SEARCH, ("yandex.ru", "yandex.com", "yandex.com.tr", "yandex.by", "yandex.kz", "ya.ru")),
    "Baidu": (SEARCH, ("baidu.com", "m.baidu.com")),
    "Ecosia": (SEARCH, ("ecosia.org",)),
    "Brave": (SEARCH, ("search.brave.com",)),
    "Qwant": (SEARCH, ("qwant.com", "lite.qwant.com")),
    "Startpage": (SEARCH, ("startpage.com",)),
    "Naver": (SEARCH, ("naver.com", "search.naver.com")),
    "Seznam": (SEARCH, ("seznam.cz", "search.seznam.cz")),
    "Sogou": (SEARCH, ("sogou.com",)),
    "Kagi": (SEARCH, ("kagi.com",)),
    "Petal Search": (SEARCH, ("petalsearch.com",)),
    "Facebook": (SOCIAL, ("facebook.com", "fb.com", "fb.me", "m.facebook.com", "l.facebook.com")),
    "Instagram": (SOCIAL, ("instagram.com", "l.instagram.com")),
    "Twitter": (SOCIAL, ("twitter.com", "t.co", "x.com", "mobile.twitter.com")),
    "LinkedIn": (SOCIAL, ("linkedin.com", "lnkd.in")),
    "Reddit": (SOCIAL, ("reddit.com", "old.reddit.com", "out.reddit.com", "redd.it")),
    "Hacker News": (SOCIAL, ("news.ycombinator.com",)),
    "Pinterest": (SOCIAL, ("pinterest.com", "pinterest.co.uk", "pinterest.de", "pinterest.fr", "pin.it")),
    "TikTok": (SOCIAL, ("tiktok.com",)),
    "Snapchat": (SOCIAL, ("snapchat.com",)),
    "Tumblr": (SOCIAL, ("tumblr.com",)),
    "Quora": (SOCIAL, ("quora.com",)),
    "GitHub": (SOCIAL, ("github.com",)),
    "Product Hunt": (SOCIAL, ("producthunt.com",)),
    "Mastodon": (SOCIAL, ("mastodon.social", "mastodon.online", "mstdn.social", "fosstodon.org")),
    "Bluesky": (SOCIAL, ("bsky.app",)),
    "Threads": (SOCIAL, ("threads.net", "threads.com")),
    "Discord": (SOCIAL, ("discord.com", "discordapp.com")),
    "Slack": (SOCIAL, ("slack.com", "app.slack.com")),
    "Telegram": (SOCIAL, ("t.me", "telegram.org", "web.telegram.org")),
    "WhatsApp": (SOCIAL, ("whatsapp.com", "web.whatsapp.com", "wa.me")),
    "vKontakte": (SOCIAL, ("vk.com", "m.vk.com")),
    "Xing": (SOCIAL, ("xing.com",)),
    "Weibo": (SOCIAL, ("weibo.com",)),
    "Microsoft Teams": (SOCIAL, ("teams.microsoft.com", "teams.live.com")),
    "YouTube": (VIDEO, ("youtube.com", "m.youtube.com", "youtu.be")),
    "Vimeo": (VIDEO, ("vimeo.com",)),
    "Twitch": (VIDEO, ("twitch.tv",)),
    "Dailymotion": (VIDEO, ("dailymotion.com",)),
    "Amazon": (SHOPPING, ("amazon.com", "amazon.de", "amazon.co.uk", "amazon.fr", "amazon.es", "amazon.it")),
    "eBay": (SHOPPING, ("ebay.com", "ebay.de", "ebay.co.uk")),
    "Etsy": (SHOPPING, ("etsy.com",)),
    "Shopify": (SHOPPING, ("shopify.com",)),
    "Temu": (SHOPPING, ("temu.com",)),
    "Gmail": (EMAIL, ("mail.google.com",)),
    "Outlook.com": (EMAIL, ("outlook.live.com", "outlook.office.com", "outlook.office365.com")),
    "Yahoo! Mail": (EMAIL, ("mail.yahoo.com",)),
    "ChatGPT": (AI, ("chatgpt.com", "chat.openai.com")),
    "Perplexity": (AI, ("perplexity.ai", "www.perplexity.ai")),
    "Claude": (AI, ("claude.ai",)),
    "Google Gemini": (AI, ("gemini.google.com", "bard.google.com")),
    "Copilot": (AI, ("copilot.microsoft.com",)),
    "DeepSeek": (AI, ("chat.deepseek.com",)),
    "Wikipedia": (None, ("wikipedia.org",)),
    "Stack Overflow": (None, ("stackoverflow.com",)),
    "Medium": (None, ("medium.com",)),
}

# utm_source shorthands seen in the wild -> source name.
TAG_ALIASES: dict[str, str] = {
    "fb": "Facebook",
    "ig": "Instagram",
    "tw": "Twitter",
    "x": "Twitter",
    "li": "LinkedIn",
    "yt": "YouTube",
    "hn": "Hacker News",
    "adwords": "Google",
    "google-ads": "Google",
    "googleads": "Google",
    "fb-ads": "Facebook",
    "fbad": "Facebook",
    "facebook_ad": "Facebook",
    "facebook-ads": "Facebook",
    "ig-ads": "Instagram",
    "instagram_ad": "Instagram",
    "yt-ads": "YouTube",
    "youtube_ad": "YouTube",
    "bing-ads": "Bing",
    "linkedin_ad": "LinkedIn",
    "tiktok-ads": "TikTok",
}

# Tags that mean the visit was paid for, whatever utm_medium says.
PAID_SOURCE_TAGS = frozenset(tag for tag in TAG_ALIASES if tag.endswith(("ads", "ad")) or tag == "adwords")

_GOOGLE = re.compile(r"^(?:[a-z0-9-]+\.)*google\.(?:com?\.)?[a-z]{2,3}$")
_BY_HOST: dict[str, str] = {host: name for name, (_, hosts) in KNOWN_SOURCES.items() for host in hosts}
_BY_NAME: dict[str, str] = {name.lower(): name for name in KNOWN_SOURCES}
_BY_NAME.update({host: name for host, name in _BY_HOST.items()})
_BY_NAME.update(TAG_ALIASES)
_CATEGORY: dict[str, str] = {
    name.lower(): category for name, (category, _) in KNOWN_SOURCES.items() if category is not None
}


@dataclass(frozen=True, slots=True)
class Referral:
    source: str  # '' when there is none (a direct visit)
    referrer: str  # cleaned: host without www. plus path without trailing slash
    click_id: str  # 'gclid' or 'msclkid' when the page URL carries one, else ''


def category(source: str) -> str | None:
    """'search', 'social', 'video', 'shopping', 'email', 'ai' or None for a source name."""
    return _CATEGORY.get(source.lower())


@lru_cache(maxsize=16_384)
def source_for_host(host: str) -> str:
    """The known name for a referring host, or the host itself."""
    host = sanitize_hostname(host) or ""
    labels = host.split(".")
    for i in range(len(labels) - 1):
        name = _BY_HOST.get(".".join(labels[i:]))
        if name is not None:
            return name
    if _GOOGLE.match(host):
        return "Google"
    return host


def find_mapping(tag: str) -> str:
    """A tagged source ('google', 'IG', 'newsletter') -> its known name, or the tag as given."""
    return _BY_NAME.get(tag.strip().lower(), tag.strip())


@lru_cache(maxsize=16_384)
def _clean(referrer: str, page_host: str) -> tuple[str, str]:
    """(cleaned referrer, source from it), or ('', '') for no external referrer."""
    try:
        parts = urlsplit(referrer.strip())
        host = parts.hostname
    except ValueError:
        return "", ""
    scheme = parts.scheme.lower()
    if not host or scheme not in ("http", "https", "android-app"):
        return "", ""
    host = sanitize_hostname(host) or ""
    if host == page_host or host == "localhost":
        return "", ""
    prefix = "android-app://" if scheme == "android-app" else ""
    cleaned = prefix + host + parts.path.rstrip("/")
    return cleaned, (prefix + host if prefix else source_for_host(host))


def resolve(referrer: str | None, page_host: str, query: dict[str, str]) -> Referral:
    cleaned, source = _clean(referrer, page_host) if referrer else ("", "")
    tagged = query.get("utm_source") or query.get("source") or query.get("ref")
    if tagged and tagged.strip():
        source = find_mapping(tagged)
    click_id = "gclid" if "gclid" in query else "msclkid" if "msclkid" in query else ""
    return Referral(source=source, referrer=cleaned, click_id=click_id)
