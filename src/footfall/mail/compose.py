"""Turning a template and its values into a `Message`: a plain-text and an HTML part from
`mail/templates/<name>.txt` and `<name>.html` (Jinja2; HTML escaped, text not)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from footfall.mail.mailer import Message

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _environments() -> tuple[Environment, Environment]:
    loader = FileSystemLoader(str(TEMPLATES))
    html = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
    text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
    return html, text


def absolute(base_url: str, link: str) -> str:
    """A link as the mail must carry it: absolute, on BASE_URL when given as a path."""
    if link.startswith(("http://", "https://")):
        return link
    return base_url.rstrip("/") + "/" + link.lstrip("/")


def compose(name: str, to: tuple[str, ...], subject: str, base_url: str, **values: Any) -> Message:
    html, text = _environments()
    context = {"subject": subject, "base_url": base_url, "to": ", ".join(to), **values}
    return Message(
        to=to,
        subject=subject,
        text=text.get_template(f"{name}.txt").render(context),
        html=html.get_template(f"{name}.html").render(context),
        headers=dict(values.get("headers") or {}),
    )
