"""The visitor's IP address, believing forwarding headers only from trusted proxies.

Plausible reads `X-Forwarded-For` and friends from anyone, so anybody can post events
with made-up addresses and inflate unique visitors. Here a header counts only when the
direct peer is in `TRUSTED_PROXIES`; then the `X-Forwarded-For` (or `Forwarded`) chain
is walked from the right, past every trusted hop, and the first untrusted address is
the visitor. Only when every hop is trusted do the single-address headers
(`X-Plausible-IP`, `CF-Connecting-IP`, `X-Real-IP`) decide, because a trusted proxy that
passes them through unchanged would otherwise let a client choose its own address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SINGLE_ADDRESS_HEADERS = ("x-plausible-ip", "cf-connecting-ip", "x-real-ip")
_V4_MAPPED = bytes(10) + b"\xff\xff"


class Address(NamedTuple):
    """A parsed address: version, its integer value, and its canonical text."""

    version: int
    value: int
    text: str


@lru_cache(maxsize=1_024)  # small: every entry is an object the garbage collector walks
def parse_address(raw: str) -> Address | None:
    """An address from a header item: `1.2.3.4`, `1.2.3.4:567`, `[::1]:80`, `"[::1]"`, `::ffff:1.2.3.4`.

    socket.inet_pton validates strictly and is ten times faster than the ipaddress module.
    Cached: the peer (a proxy) and a returning visitor's address repeat from request to request."""
    text = raw.strip()
    if '"' in text:
        text = text.strip('"').strip()
    if not text or text.startswith(("_", "u", "U")):  # RFC 7239 obfuscated ids, "unknown"
        return None
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    if "%" in text:  # an IPv6 zone
        text = text.split("%", 1)[0]
    try:
        if ":" not in text:
            # inet_pton takes only the canonical dotted quad (no leading zeros, no short
            # forms: glibc and musl alike), so the text it accepted is the canonical text.
            return _address(4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"), text)
        packed = socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return None
    if packed[:12] == _V4_MAPPED:
        v4 = packed[12:]
        return _address(4, int.from_bytes(v4, "big"), socket.inet_ntop(socket.AF_INET, v4))
    return _address(6, int.from_bytes(packed, "big"), socket.inet_ntop(socket.AF_INET6, packed))


def _address(version: int, value: int, text: str) -> Address:
    """`Address(version, value, text)`, made by `tuple.__new__`: a NamedTuple's own `__new__`
    is interpreted Python even where this module is compiled, and most addresses a busy
    server sees are new to the cache above."""
    return tuple.__new__(Address, (version, value, text))


def forwarded_for(header: str) -> list[str]:
    """The `for=` values of an RFC 7239 `Forwarded` header, in order."""
    found = []
    for element in header.split(","):
        for pair in element.split(";"):
            key, _, value = pair.partition("=")
            if key.strip().lower() == "for":
                found.append(value.strip())
    return found


class ClientIpResolver:
    """Resolves the visitor address of one request; built once from TRUSTED_PROXIES."""

    def __init__(self, trusted: Sequence[Network]) -> None:
        # Ranges as integers: a few comparisons per hop, no cache to churn.
        self._ranges = {
            version: tuple(
                (int(n.network_address), int(n.broadcast_address)) for n in trusted if n.version == version
            )
            for version in (4, 6)
        }

    def is_trusted(self, address: Address) -> bool:
        value = address.value
        for low, high in self._ranges[address.version]:  # noqa: SIM110 (a loop: no generator per call)
            if low <= value <= high:
                return True
        return False

    def resolve(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """`headers` has lower-case names; repeated headers joined with ', '."""
        peer_address = parse_address(peer or "")
        if peer_address is None:
            return peer or ""
        if not self.is_trusted(peer_address):
            return peer_address.text
        chain_header = headers.get("x-forwarded-for")
        chain = chain_header.split(",") if chain_header else forwarded_for(headers.get("forwarded", ""))
        leftmost = None
        for hop in reversed(chain):  # parsed from the right, only as far as needed
            address = parse_address(hop)
            if address is not None:
                if not self.is_trusted(address):
                    return address.text
                leftmost = address
        for name in SINGLE_ADDRESS_HEADERS:
            value = headers.get(name)
            address = parse_address(value) if value else None
            if address is not None:
                return address.text
        return (leftmost or peer_address).text
