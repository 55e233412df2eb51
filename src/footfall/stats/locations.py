"""English names of the places visits are stored by: countries (ISO 3166-1 alpha-2 codes) and
regions (ISO 3166-2 codes), from the ISO tables pycountry ships.

The events tables keep codes (`country_code`, `region`) and city names; the `visit:country_name`
and `visit:region_name` dimensions translate codes to names inside the query, so grouping,
filtering and ordering by name all happen in ClickHouse. Cities are stored by name already.
"""

from __future__ import annotations

import gettext
import re
from functools import lru_cache

# The separator of the code and name lists handed to ClickHouse as two string parameters;
# no ISO name contains it (checked when the lists are built).
SEPARATOR = "|"
_NOTE = re.compile(r"\s*\[[^\]]*\]\s*$")  # iso-codes annotations such as "Stockholms län [SE-01]"


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """Code -> English short name, the common one where the official one is long
    ("South Korea" rather than "Korea, Republic of")."""
    import pycountry

    names = {}
    for country in pycountry.countries:
        name = getattr(country, "common_name", None) or country.name
        names[country.alpha_2] = name
    return _checked(names)


@lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    """ISO 3166-2 code -> English name ("DE-BY" -> "Bavaria"), local name where no English one exists."""
    import pycountry

    try:
        english = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"]).gettext
    except OSError:

        def english(text: str) -> str:
            return text

    names = {}
    for subdivision in pycountry.subdivisions:
        name = _NOTE.sub("", english(subdivision.name)).strip()
        if name:
            names[subdivision.code] = name
    return _checked(names)


def _checked(names: dict[str, str]) -> dict[str, str]:
    return {code: name for code, name in names.items() if SEPARATOR not in code + name}


@lru_cache(maxsize=2)
def joined(kind: str) -> tuple[str, str]:
    """(codes, names), each joined by SEPARATOR, in the same order, for `transform` in SQL."""
    table = country_names() if kind == "country" else region_names()
    return SEPARATOR.join(table), SEPARATOR.join(table.values())
