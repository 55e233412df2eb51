"""The web pages against the real application: metadata in SQLite or PostgreSQL, events in chDB.

`Visitor` is one browser (its own cookies) talking to the app in-process; `visitor.csrf()`
reads the CSRF token from a page as a browser's form would carry it.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.accounts.users import create_user
from footfall.app import create_app
from footfall.config import load_settings
from footfall.events.chdb_store import ChdbStore
from footfall.events.store import migrate_events
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.meta.models import Membership, Role
from footfall.services import Services
from footfall.sites.sites import create_site

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="_csrf" value="([^"]+)"')


class Visitor:
    """One browser: a TestClient with its own cookie jar."""

    def __init__(self, app: Any, base_url: str = "http://testserver") -> None:
        # From loopback (a trusted proxy by default), so a test may name the client's address
        # in X-Forwarded-For as a proxy in front of footfall would.
        self.client = TestClient(app, base_url=base_url, follow_redirects=False, client=("127.0.0.1", 50000))

    def get(self, path: str, **kwargs: Any):
        return self.client.get(path, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        page = self.client.get(path, follow_redirects=True)
        match = _TOKEN.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        csrf_from: str | None = None,
        **kwargs: Any,
    ):
        """A form post carrying a CSRF token (read from `csrf_from`, by default the page itself)."""
        body = dict(data or {})
        if token is None:
            token = self.csrf(csrf_from or path)
        if token:
            body["_csrf"] = token
        return self.client.post(path, data=body, **kwargs)

    def log_in(self, email: str, password: str = PASSWORD):
        answer = self.post("/login", {"email": email, "password": password})
        assert answer.status_code == 303, answer.text
        return answer


class WebWorld:
    def __init__(self, services: Services, app: Any) -> None:
        self.services = services
        self.app = app

    def visitor(self, base_url: str = "http://testserver") -> Visitor:
        return Visitor(self.app, base_url)

    def user(self, email: str, **attrs: Any) -> int:
        """A user; not an instance admin unless `is_admin=True` (create_user makes an
        instance's first user one, which most tests' first user must not be)."""
        attrs.setdefault("is_admin", False)
        with session_scope(self.services.sessions) as db:
            user = create_user(db, email, PASSWORD)
            for name, value in attrs.items():
                setattr(user, name, value)
            return user.id

    def site(self, domain: str, owner_email: str | None = None) -> int:
        """A site owned by `owner_email` (no owner when None); its id."""
        from footfall.accounts.users import get_user_by_email

        with session_scope(self.services.sessions) as db:
            owner = get_user_by_email(db, owner_email) if owner_email else None
            created = create_site(db, domain, owner=owner)
            return created.id

    def add_member(self, site_id: int, email: str, role: Role) -> None:
        from footfall.accounts.users import get_user_by_email

        with session_scope(self.services.sessions) as db:
            db.add(Membership(site_id=site_id, user_id=get_user_by_email(db, email).id, role=role))


def build_web(
    tmp: Path, metadata_url: str, store: ChdbStore | None, **env: str
) -> tuple[WebWorld, Callable[[], None]]:
    settings = load_settings({"DATA_DIR": str(tmp / "data"), "DATABASE_URL": metadata_url, **env})
    engine = make_engine(settings.database_url)
    migrate(engine)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine), events=store)
    app = create_app(settings, services)

    def close() -> None:
        engine.dispose()

    return WebWorld(services, app), close


@pytest.fixture
def events(chdb_engine: ChdbStore) -> Iterator[ChdbStore]:
    store = chdb_engine.scoped(f"web_{uuid.uuid4().hex[:12]}")
    migrate_events(store)
    yield store
    store.command("DROP DATABASE IF EXISTS {db}")


@pytest.fixture
def web_factory(tmp_path: Path, events: ChdbStore) -> Iterator[Callable[..., WebWorld]]:
    closers: list[Callable[[], None]] = []

    def factory(metadata_url: str | None = None, **env: str) -> WebWorld:
        url = metadata_url or f"sqlite:///{tmp_path / f'meta-{len(closers)}.db'}"
        world, close = build_web(tmp_path / f"w{len(closers)}", url, events, **env)
        closers.append(close)
        return world

    yield factory
    for close in closers:
        close()


@pytest.fixture
def web(web_factory: Callable[..., WebWorld]) -> WebWorld:
    return web_factory()
