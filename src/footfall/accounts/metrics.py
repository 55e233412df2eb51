"""Login counters on `/metrics`: failed attempts by reason and attempts refused by the
throttle, by step. Labels are fixed words; no email, address or user id is ever one."""

from __future__ import annotations

from prometheus_client import Counter

FAILURE_REASONS = ("unknown_email", "wrong_password", "wrong_second_factor")
THROTTLED_STEPS = ("login", "second_factor", "password_reset")

LOGIN_FAILURES = Counter(
    "footfall_login_failures",
    "Failed login attempts, by reason (unknown_email, wrong_password, wrong_second_factor).",
    ["reason"],
)
LOGIN_THROTTLED = Counter(
    "footfall_login_throttled",
    "Attempts refused because their email or address had too many recent failures, by step "
    "(login, second_factor, password_reset).",
    ["step"],
)
for _reason in FAILURE_REASONS:
    LOGIN_FAILURES.labels(reason=_reason)
for _step in THROTTLED_STEPS:
    LOGIN_THROTTLED.labels(step=_step)


def login_failed(reason: str) -> None:
    assert reason in FAILURE_REASONS, reason
    LOGIN_FAILURES.labels(reason=reason).inc()


def login_throttled(step: str) -> None:
    assert step in THROTTLED_STEPS, step
    LOGIN_THROTTLED.labels(step=step).inc()
