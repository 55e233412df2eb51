"""`GET /metrics`: Prometheus counters (ingestion outcomes and drop reasons, flushes, log size).

The counters say how busy each site is, so they are not public: with `METRICS_TOKEN` set a
scraper must send it as a Bearer token; without it only clients whose address (resolved as
for events) lies in `TRUSTED_PROXIES` (by default loopback and private networks, where an
in-cluster Prometheus runs) may read them.
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.ingest.client_ip import ClientIpResolver, parse_address


def _allowed(request: Request) -> bool:
    settings = request.app.state.settings
    if settings.metrics_token:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), settings.metrics_token.encode()
        )
    resolver = ClientIpResolver(settings.trusted_proxies)
    headers = {name: ", ".join(request.headers.getlist(name)) for name in set(request.headers.keys())}
    peer = request.client.host if request.client else None
    address = parse_address(resolver.resolve(peer, headers))
    return address is not None and resolver.is_trusted(address)


async def metrics(request: Request) -> Response:
    if not _allowed(request):
        return JSONResponse(
            {"error": "metrics are served to TRUSTED_PROXIES addresses, or with the METRICS_TOKEN bearer"},
            status_code=403,
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
