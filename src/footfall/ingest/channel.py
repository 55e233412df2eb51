"""Source + UTM tags -> acquisition channel, with Plausible's channel names and rules.

Plausible follows Google Analytics 4's default channel groups, checked in order:
the first rule that matches names the channel. The source categories come from
referrer.py.
"""

from __future__ import annotations

import re

from footfall.ingest import referrer
from footfall.ingest.referrer import AI, EMAIL, SEARCH, SHOPPING, SOCIAL, VIDEO

CHANNELS = (
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "AI Assistants",
    "Organic Search",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Referral",
    "Direct",
)

_PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
_SHOPPING_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
_DISPLAY_MEDIA = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIA = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
_EMAIL_TAGS = ("email", "e-mail", "e_mail", "e mail", "newsletter")


def channel(
    source: str, utm_medium: str = "", utm_campaign: str = "", utm_source: str = "", click_id: str = ""
) -> str:
    source, medium = source.lower(), utm_medium.lower()
    campaign, tag = utm_campaign.lower(), utm_source.lower()
    kind = referrer.category(source)
    paid_medium = bool(_PAID_MEDIUM.match(medium))
    paid_tag = tag in referrer.PAID_SOURCE_TAGS
    shopping_campaign = bool(_SHOPPING_CAMPAIGN.match(campaign))

    if "cross-network" in campaign:
        return "Cross-network"
    if (kind == SHOPPING or shopping_campaign) and paid_medium:
        return "Paid Shopping"
    if kind == SEARCH and (paid_medium or paid_tag):
        return "Paid Search"
    if (source == "google" and click_id == "gclid") or (source == "bing" and click_id == "msclkid"):
        return "Paid Search"
    if kind == SOCIAL and (paid_medium or paid_tag):
        return "Paid Social"
    if kind == VIDEO and (paid_medium or paid_tag):
        return "Paid Video"
    if medium in _DISPLAY_MEDIA:
        return "Display"
    if paid_medium:
        return "Paid Other"
    if kind == SHOPPING or shopping_campaign:
        return "Organic Shopping"
    if kind == SOCIAL or medium in _SOCIAL_MEDIA:
        return "Organic Social"
    if kind == VIDEO or "video" in medium:
        return "Organic Video"
    if kind == AI:
        return "AI Assistants"
    if kind == SEARCH:
        return "Organic Search"
    if kind == EMAIL or any(t in tag for t in _EMAIL_TAGS) or any(t in medium for t in _EMAIL_TAGS):
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium == "audio":
        return "Audio"
    if tag == "sms" or medium == "sms":
        return "SMS"
    if medium.endswith("push") or "mobile" in medium or "notification" in medium or source == "firebase":
        return "Mobile Push Notifications"
    if medium in ("referral", "app", "link") or source:
        return "Referral"
    return "Direct"
