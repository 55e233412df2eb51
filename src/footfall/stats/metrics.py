"""What each metric means, and how its raw engine value is shown to API clients.

Definitions follow Plausible's:
- visitors: unique visitors (distinct `user_id`; a visitor id is a daily-salted hash).
- visits: sessions; with an event property in the query, the visits that had such an event.
- pageviews: `pageview` events.  events: pageviews plus custom events (never `engagement`).
- views_per_visit: pageviews / visits, two decimals.
- bounce_rate: percent of visits with a single pageview (whole number); with a page filter,
  of the visits that entered on that page.
- visit_duration: mean visit length in whole seconds.
- conversion_rate: converting visitors / all visitors of the query without goal and property
  filters, percent to one decimal; group_conversion_rate divides by the visitors of the same
  dimension group instead.
- percentage: a group's visitors / the query's visitors, percent to one decimal.
- time_on_page: engaged seconds on a page / page visits (distinct session and page pairs),
  from the tracker's `engagement` events.
- scroll_depth: the mean, over visitors, of each visitor's deepest scroll on the page (0-100).
- total_revenue, average_revenue: sum and mean of the revenue of conversions of revenue goals,
  in the goal's currency; null when the query's goals have no single currency.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

INTEGER_METRICS = frozenset(
    {
        "visitors",
        "visits",
        "pageviews",
        "events",
        "bounce_rate",
        "visit_duration",
        "time_on_page",
        "scroll_depth",
    }
)
DECIMAL_METRICS = frozenset({"views_per_visit", "conversion_rate", "group_conversion_rate", "percentage"})

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def present(metric: str, value: Any, currency: str | None = None) -> Any:
    """The JSON value of a metric as Plausible's API gives it."""
    if metric in ("total_revenue", "average_revenue"):
        if currency is None:
            return None
        return money(value or 0, currency)
    if value is None:
        return None if metric == "percentage" else 0
    if metric in INTEGER_METRICS:
        return int(value)
    if metric in DECIMAL_METRICS:
        number = float(value)
        return int(number) if number.is_integer() and metric != "views_per_visit" else number
    return value


def money(amount: Any, currency: str) -> dict[str, Any]:
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    return {
        "short": symbol + short_number(float(value)),
        "long": f"{symbol}{value:,.2f}",
        "value": float(value),
        "currency": currency,
    }


def short_number(number: float) -> str:
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if abs(number) >= size:
            text = f"{number / size:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return f"{number:.1f}".rstrip("0").rstrip(".") if number % 1 else str(int(number))
