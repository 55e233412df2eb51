"""User agent -> browser, OS, device category, or "this is a bot".

ua-parser (with its Rust backend) names the browser and OS; crawlerdetect's
maintained list and a few headless-browser markers catch bots. Names are mapped to the
ones Plausible shows ('Chrome' for Chrome Mobile, 'Mac' for Mac OS X, 'GNU/Linux' for
Linux distributions), versions are cut to major.minor. Results are cached per user agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ua_parser
from crawlerdetect import CrawlerDetect


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    is_bot: bool
    browser: str = ""
    browser_version: str = ""
    operating_system: str = ""
    operating_system_version: str = ""
    screen_size: str = ""


BOT = UserAgentInfo(is_bot=True)

_BROWSER_NAMES = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chromium": "Chromium",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge": "Microsoft Edge",
    "Edge Mobile": "Microsoft Edge",
    "Opera Mobile": "Opera",
    "Opera Mini": "Opera",
    "Opera Mini iOS": "Opera",
    "Yandex Browser Lite": "Yandex Browser",
    "Samsung Internet": "Samsung Browser",
    "Chrome Mobile WebView": "Mobile App",
    "Facebook": "Mobile App",
    "Instagram": "Mobile App",
    "IE": "Internet Explorer",
    "IE Mobile": "Internet Explorer",
    "Other": "",
}
_MOBILE_APP_BROWSERS = frozenset({"Mobile App"})

_OS_NAMES = {
    "Mac OS X": "Mac",
    "Mac OS": "Mac",
    "Linux": "GNU/Linux",
    "Ubuntu": "GNU/Linux",
    "Fedora": "GNU/Linux",
    "Debian": "GNU/Linux",
    "Arch Linux": "GNU/Linux",
    "Mint": "GNU/Linux",
    "openSUSE": "GNU/Linux",
    "Red Hat": "GNU/Linux",
    "CentOS": "GNU/Linux",
    "Gentoo": "GNU/Linux",
    "Chrome OS": "Chrome OS",
    "Other": "",
}
_WINDOWS_VERSIONS = {"XP": "XP", "Vista": "Vista", "7": "7", "8": "8", "8.1": "8.1", "10": "10", "11": "11"}

_HEADLESS = re.compile(
    r"headless|phantomjs|puppeteer|playwright|selenium|lighthouse|pagespeed|slimerjs|electron/", re.I
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|nexus (7|9|10)|sm-t\d|tab\b", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android.*mobile|windows phone|blackberry|opera mini|iemobile", re.I)
_TV_OR_CONSOLE = re.compile(r"smart-?tv|hbbtv|appletv|roku|playstation|xbox|nintendo|crkey|tizen.*tv", re.I)

_crawlers = CrawlerDetect()


def _major_minor(*parts: str | None) -> str:
    kept = [p for p in parts[:2] if p]
    return ".".join(kept)


def _screen_size(ua: str, device_family: str, os_family: str) -> str:
    """Plausible's device categories from the user agent: Mobile, Tablet or Desktop.

    ('Laptop' in Plausible came from the screen width, which footfall does not use.)"""
    if _TV_OR_CONSOLE.search(ua):
        return "Desktop"
    if device_family == "iPad" or _TABLET.search(ua):
        return "Tablet"
    if os_family == "Android" and "mobile" not in ua.lower():
        return "Tablet"
    if _MOBILE.search(ua) or os_family in ("iOS", "Android", "Windows Phone", "KaiOS"):
        return "Mobile"
    return "Desktop"


@lru_cache(maxsize=16_384)
def parse_user_agent(ua: str) -> UserAgentInfo:
    """What a user agent says about the visitor's software; `BOT` for crawlers and headless browsers.

    An empty user agent is treated as a bot: every browser sends one."""
    if not ua or not ua.strip() or _HEADLESS.search(ua) or _crawlers.isCrawler(ua):
        return BOT
    result = ua_parser.parse(ua)
    device = result.device.family if result.device else ""
    if device == "Spider":
        return BOT
    agent = result.user_agent
    os = result.os
    browser = agent.family if agent else "Other"
    browser = _BROWSER_NAMES.get(browser, browser)
    browser_version = (
        "" if browser in _MOBILE_APP_BROWSERS or not agent else _major_minor(agent.major, agent.minor)
    )
    os_family = os.family if os else "Other"
    os_name = _OS_NAMES.get(os_family, os_family)
    os_version = _major_minor(os.major, os.minor) if os else ""
    if os_name.startswith("Windows") and os_name != "Windows Phone":
        version = os_name[len("Windows") :].strip()
        os_name = "Windows"
        os_version = _WINDOWS_VERSIONS.get(version, os_version or version)
    if os_name == "GNU/Linux":
        os_version = ""
    return UserAgentInfo(
        is_bot=False,
        browser=browser,
        browser_version=browser_version,
        operating_system=os_name,
        operating_system_version=os_version,
        screen_size=_screen_size(ua, device, os_family),
    )
