"""Turns the body of `POST /api/event` into an `EventRequest`, or into field errors.

This is the edge of the write path: it accepts exactly what Plausible's trackers and
clients send (short and long field names, `text/plain` bodies holding JSON, `p` as an
object or as a string of JSON, unknown fields ignored) and nothing after it sees the
raw body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec

MAX_NAME_CHARS = 120
MAX_URL_BYTES = 2_000
MAX_REFERRER_CHARS = 2_000
MAX_PROPS = 30
MAX_PROP_KEY_BYTES = 300
MAX_PROP_VALUE_BYTES = 2_000
MISSING_SCROLL_DEPTH = 255
TOO_LARGE_ENGAGEMENT_MS = 30 * 24 * 3600 * 1000
DISALLOWED_SCHEMES = frozenset({"data"})

_decoder = msgspec.json.Decoder()


class RequestInvalid(ValueError):
    """The body cannot become an event; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# `init=False` and an `__init__` written out: compiled (footfall.compiled), the methods a
# dataclass generates stay interpreted Python, and a generated `__init__` of 17 fields cost
# more than a microsecond per request; a written one is compiled like the rest of the class.
@dataclass(slots=True, init=False)
class EventRequest:
    """One validated event as the tracker described it, and (once `arrived`) who posted it
    and when, as the HTTP edge saw it: Plausible's `request.ex`. No enrichment yet.

    `parse_event` fills the body's fields and leaves the visitor's empty; the edge calls
    `arrived` with the visitor's address, user agent and arrival time, which gives the
    request the pipeline takes. A parsed body is never changed (the HTTP handler keeps
    parsed bodies to reuse for the next identical post)."""

    name: str
    url: str
    hostname: str
    pathname: str
    domains: list[str]
    query: dict[str, str]
    referrer: str | None = None
    props: dict[str, str] = field(default_factory=dict)
    revenue_amount: str | None = None
    revenue_currency: str | None = None
    hash_mode: bool = False
    interactive: bool = True
    scroll_depth: int = MISSING_SCROLL_DEPTH
    engagement_time: int = 0
    # The visitor, from the connection and its headers (never stored: see identity.py).
    ip: str = ""
    user_agent: str = ""
    timestamp: int = 0  # arrival, unix seconds: the pipeline's clock for this event

    def __init__(
        self,
        name: str,
        url: str,
        hostname: str,
        pathname: str,
        domains: list[str],
        query: dict[str, str],
        referrer: str | None = None,
        props: dict[str, str] | None = None,
        revenue_amount: str | None = None,
        revenue_currency: str | None = None,
        hash_mode: bool = False,
        interactive: bool = True,
        scroll_depth: int = MISSING_SCROLL_DEPTH,
        engagement_time: int = 0,
        ip: str = "",
        user_agent: str = "",
        timestamp: int = 0,
    ) -> None:
        self.name = name
        self.url = url
        self.hostname = hostname
        self.pathname = pathname
        self.domains = domains
        self.query = query
        self.referrer = referrer
        self.props = {} if props is None else props
        self.revenue_amount = revenue_amount
        self.revenue_currency = revenue_currency
        self.hash_mode = hash_mode
        self.interactive = interactive
        self.scroll_depth = scroll_depth
        self.engagement_time = engagement_time
        self.ip = ip
        self.user_agent = user_agent
        self.timestamp = timestamp

    def arrived(self, ip: str, user_agent: str, timestamp: int) -> EventRequest:
        """This body as posted by one visitor at one moment (a new request; this one is unchanged)."""
        return EventRequest(
            self.name,
            self.url,
            self.hostname,
            self.pathname,
            self.domains,
            self.query,
            self.referrer,
            self.props,
            self.revenue_amount,
            self.revenue_currency,
            self.hash_mode,
            self.interactive,
            self.scroll_depth,
            self.engagement_time,
            ip,
            user_agent,
            timestamp,
        )


def sanitize_hostname(host: str | None) -> str | None:
    """`www.Example.com ` -> `example.com`."""
    if host is None:
        return None
    host = host.strip().lower()
    return host[4:] if host.startswith("www.") else host


def decode_body(body: bytes) -> dict[str, Any]:
    """JSON whatever the Content-Type says (trackers send JSON as `text/plain`)."""
    try:
        document = _decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise RequestInvalid({"request": ["Unable to parse request body as json"]}) from None
    if not isinstance(document, dict):
        raise RequestInvalid({"request": ["Unable to parse request body as json"]})
    return document


def _too_long(text: str, max_bytes: int) -> bool:
    """More than `max_bytes` in UTF-8 (each character is at least one byte, so an ASCII
    string's length is its size, and only other strings need encoding)."""
    if len(text) > max_bytes:
        return True
    return not text.isascii() and len(text.encode("utf-8", "replace")) > max_bytes


def parse_event(body: dict[str, Any]) -> EventRequest:
    """Validate a decoded body. Raises RequestInvalid naming every bad field."""
    errors: dict[str, list[str]] = {}

    name = _either(body, "n", "name")
    if isinstance(name, bool) or not isinstance(name, str | int):
        name = None
    elif isinstance(name, int):
        name = str(name)
    if not name:
        errors.setdefault("name", []).append("can't be blank")
    elif len(name) > MAX_NAME_CHARS:
        errors.setdefault("name", []).append(f"should be at most {MAX_NAME_CHARS} character(s)")

    url = _either(body, "u", "url")
    hash_mode = _either(body, "h", "hashMode") in (1, True)
    hostname, pathname, query = "(none)", "/", _NO_QUERY
    if url is None:
        errors.setdefault("url", []).append("is required")
    elif not isinstance(url, str) or _too_long(url, MAX_URL_BYTES):
        errors.setdefault("url", []).append("must be a valid url")
    else:
        parsed = _url_parts(url, hash_mode)
        if isinstance(parsed, str):
            errors.setdefault("url", []).append(parsed)
        else:
            hostname, pathname, query = parsed

    domains = _domains(_either(body, "d", "domain"), hostname, errors)

    referrer = _either(body, "r", "referrer")
    referrer = referrer[:MAX_REFERRER_CHARS] if isinstance(referrer, str) and referrer else None

    props = _props(_first(body, "m", "meta", "p", "props"), errors)
    amount, currency = _revenue(_either(body, "$", "revenue"))

    interactive = _either(body, "i", "interactive")
    scroll_depth, engagement_time = MISSING_SCROLL_DEPTH, 0
    if name == "engagement":
        scroll_depth = _scroll_depth(body.get("sd"))
        engagement_time = _engagement_time(body.get("e"))
        if scroll_depth == MISSING_SCROLL_DEPTH and engagement_time == 0:
            errors.setdefault("name", []).append(
                "engagement event requires a valid integer value for at least one of 'sd' or 'e' fields"
            )

    if errors:
        raise RequestInvalid(errors)
    assert isinstance(name, str) and isinstance(url, str)
    return EventRequest(
        name=name,
        url=url,
        hostname=hostname,
        pathname=pathname,
        domains=domains,
        query=query,
        referrer=referrer,
        props=props,
        revenue_amount=amount,
        revenue_currency=currency,
        hash_mode=hash_mode,
        interactive=interactive if isinstance(interactive, bool) else True,
        scroll_depth=scroll_depth,
        engagement_time=engagement_time,
    )


_NO_QUERY: dict[str, str] = {}


@lru_cache(maxsize=32_768)
def _url_parts(url: str, hash_mode: bool) -> tuple[str, str, dict[str, str]] | str:
    """(hostname, pathname, query) of a page URL, or the error message. Cached: pages repeat.
    Callers must not change the returned query dict."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname  # raises on a malformed IPv6 literal
    except ValueError:
        return "must be a valid url"
    if parts.scheme.lower() in DISALLOWED_SCHEMES:
        return "scheme is not allowed"
    query = dict(parse_qsl(parts.query, keep_blank_values=False)) if parts.query else _NO_QUERY
    pathname = _pathname(parts.path, parts.fragment if hash_mode else "")
    return sanitize_hostname(host) or "(none)", pathname, query


def _either(body: dict[str, Any], short: str, long: str) -> Any:
    value = body.get(short)
    return body.get(long) if value is None else value


def _first(body: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = body.get(key)
        if value is not None:
            return value
    return None


def _pathname(path: str, fragment: str) -> str:
    pathname = unquote(path or "/").rstrip() or "/"
    if fragment:
        pathname += "#" + unquote(fragment)
    return pathname


def _domains(raw: Any, hostname: str, errors: dict[str, list[str]]) -> list[str]:
    if isinstance(raw, str):
        domains = [d for d in (sanitize_hostname(part) for part in raw.split(",")) if d]
        if not domains:
            errors.setdefault("domain", []).append("can't be blank")
        return domains
    if hostname != "(none)":
        return [hostname]
    errors.setdefault("domain", []).append("can't be blank")
    return []


def _prop_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return None


def _props(raw: Any, errors: dict[str, list[str]]) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = _decoder.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return {}
    if not isinstance(raw, dict):
        return {}
    props: dict[str, str] = {}
    for key, value in raw.items():
        text = _prop_text(value)
        if text is None or not str(key).strip() or not text.strip():
            continue
        props[str(key)] = text
        if len(props) == MAX_PROPS:
            break
    for key, value in props.items():
        if len(key.encode("utf-8", "surrogatepass")) > MAX_PROP_KEY_BYTES or (
            len(value.encode("utf-8", "surrogatepass")) > MAX_PROP_VALUE_BYTES
        ):
            errors.setdefault("props", []).append(
                f"keys should have at most {MAX_PROP_KEY_BYTES} bytes and values {MAX_PROP_VALUE_BYTES} bytes"
            )
            break
    return props


def _revenue(raw: Any) -> tuple[str | None, str | None]:
    """`{"amount": 12.5, "currency": "EUR"}` (or the same as a JSON string); anything else is ignored."""
    if raw is None:
        return None, None
    if isinstance(raw, str):
        try:
            raw = _decoder.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None, None
    if not isinstance(raw, dict):
        return None, None
    amount, currency = raw.get("amount"), raw.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        return None, None
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None, None
    try:
        value = float(amount)
    except ValueError:
        return None, None
    if not math.isfinite(value) or abs(value) >= 1e15:
        return None, None
    return f"{value:.3f}", currency.upper()


def _integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        digits = text[1:] if text.startswith("-") else text
        if digits.isascii() and digits.isdigit():  # isdigit alone passes "²", which int refuses
            return int(text)
    return None


def _scroll_depth(raw: Any) -> int:
    value = _integer(raw)
    if value is None or value < 0:
        return MISSING_SCROLL_DEPTH
    return min(value, 100)


def _engagement_time(raw: Any) -> int:
    value = _integer(raw)
    if value is None or value < 0 or value >= TOO_LARGE_ENGAGEMENT_MS:
        return 0
    return value
