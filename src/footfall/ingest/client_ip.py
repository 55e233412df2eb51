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
from collections.abc import Mapping, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SINGLE_ADDRESS_HEADERS = ("x-plausible-ip", "cf-connecting-ip", "x-real-ip")


def parse_address(raw: str) -> Address | None:
    """An address from a header item: `1.2.3.4`, `1.2.3.4:567`, `[::1]:80`, `"[::1]"`, `::ffff:1.2.3.4`."""
    text = raw.strip().strip('"').strip()
    if not text or text.lower() == "unknown" or text.startswith("_"):
        return None
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


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
        value = int(address)
        return any(low <= value <= high for low, high in self._ranges[address.version])

    def resolve(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """`headers` has lower-case names; repeated headers joined with ', '."""
        peer_address = parse_address(peer or "")
        if peer_address is None:
            return peer or ""
        if not self.is_trusted(peer_address):
            return str(peer_address)
        chain_header = headers.get("x-forwarded-for")
        chain = chain_header.split(",") if chain_header else forwarded_for(headers.get("forwarded", ""))
        hops = [address for address in map(parse_address, chain) if address is not None]
        for address in reversed(hops):
            if not self.is_trusted(address):
                return str(address)
        for name in SINGLE_ADDRESS_HEADERS:
            value = headers.get(name)
            address = parse_address(value) if value else None
            if address is not None:
                return str(address)
        return str(hops[0] if hops else peer_address)
