"""Prints every stored event of a stopped footfall as JSON: `python store_reader.py DATA_DIR`.

Run in its own process by the browser tests: chDB allows one session per process, and
the test process may already hold one. Each row names its site by domain.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from sqlalchemy import select

from footfall.events.chdb_store import ChdbStore
from footfall.meta.db import make_engine
from footfall.meta.models import Site

QUERY = """
SELECT site_id, name, hostname, pathname, `meta.key`, `meta.value`, user_id, country_code,
       toString(revenue_source_amount), revenue_source_currency, interactive, scroll_depth,
       engagement_time, referrer_source
FROM {db}.events
ORDER BY timestamp, name
"""


def main(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'footfall.db'}")
    with engine.connect() as connection:
        domains = dict(connection.execute(select(Site.id, Site.domain)).all())
    engine.dispose()
    store = ChdbStore(data_dir / "events")
    try:
        result = store.query(QUERY)
    finally:
        store.close()
    rows = []
    for row in result.rows:
        (site_id, name, hostname, pathname, keys, values, user_id, country, amount, currency,
         interactive, scroll_depth, engagement_time, referrer_source) = row  # fmt: skip
        rows.append(
            {
                "site": domains.get(site_id, f"site #{site_id}"),
                "name": name,
                "hostname": hostname,
                "pathname": pathname,
                "props": dict(zip(keys, values, strict=True)),
                "user_id": user_id,
                "country_code": country,
                "revenue_amount": amount,
                "revenue_currency": currency,
                "interactive": interactive,
                "scroll_depth": scroll_depth,
                "engagement_time": engagement_time,
                "referrer_source": referrer_source,
            }
        )
    sys.stdout.buffer.write(orjson.dumps(rows))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
