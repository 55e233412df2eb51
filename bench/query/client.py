"""The benchmark's HTTP client, in a process of its own, as a dashboard's browser is.

`python -m bench.query.client BASE_URL` reads one JSON request body a line on stdin, posts
it to `BASE_URL/api/v2/query` with the Bearer key in `BENCH_QUERY_TOKEN` on one keep-alive
connection, and writes one line back: the status, the seconds from sending the request to
reading the whole answer (timed here, so the pipe to the benchmark is not counted), and the
answer's text when the status is not 200. A line `quit` (or the end of stdin) ends it.

Kept apart from the server so that the two do not take turns on one interpreter lock: the
benchmark process holds the embedded store, the server and the raw-SQL timings.
"""

from __future__ import annotations

import os
import sys
import time

import httpx
import orjson


def main() -> None:
    base_url, token = sys.argv[1], os.environ["BENCH_QUERY_TOKEN"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=120, headers=headers) as client:
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            body = line.strip().encode()
            started = time.perf_counter()
            response = client.post("/api/v2/query", content=body)
            response.read()
            elapsed = time.perf_counter() - started
            reply: dict[str, object] = {"status": response.status_code, "seconds": elapsed}
            if response.status_code != 200:
                reply["text"] = response.text
            sys.stdout.buffer.write(orjson.dumps(reply) + b"\n")
            sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
