"""IP address -> country, and region and city when an `.mmdb` file is configured.

The country always comes from `iptocc` (the regional registries' delegations compiled
into the package, no file to download). With `IP_GEOLOCATION_DB` pointing at a MaxMind
or DB-IP City database, region (ISO 3166-2, `DE-BE`) and city name come from it, and its
country wins so that the three agree. DB-IP's free file names regions in English
without codes; they are matched to ISO 3166-2 codes through pycountry, and a region
that cannot be matched is left empty rather than guessed. Unknown values are ''.
The address itself is never stored.
"""

from __future__ import annotations

import gettext
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import iptocc


@dataclass(frozen=True, slots=True)
class Location:
    country_code: str = ""
    region: str = ""
    city: str = ""


UNKNOWN = Location()


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if c.isalnum())


@lru_cache(maxsize=1)
def _region_codes() -> dict[tuple[str, str], str]:
    """(country, folded region name) -> ISO 3166-2 code, from local and English names."""
    import pycountry

    try:
        english = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"]).gettext
    except OSError:

        def english(text: str) -> str:
            return text

    codes: dict[tuple[str, str], str] = {}
    for subdivision in pycountry.subdivisions:
        if subdivision.parent_code is not None:
            continue
        country = subdivision.country_code
        for name in {subdivision.name, english(subdivision.name)}:
            codes.setdefault((country, _fold(name)), subdivision.code)
    return codes


def region_code(country: str, subdivision: dict[str, Any]) -> str:
    iso = subdivision.get("iso_code")
    if iso:
        return f"{country}-{iso}"
    name = (subdivision.get("names") or {}).get("en")
    if not name:
        return ""
    return _region_codes().get((country, _fold(name)), "")


class Geolocator:
    def __init__(self, mmdb_path: Path | None = None) -> None:
        self._reader = None
        if mmdb_path is not None:
            import maxminddb

            self._reader = maxminddb.open_database(str(mmdb_path))
        # The country lookup costs less than a cache would; the file lookup is worth caching.
        self.locate = lru_cache(maxsize=65_536)(self._locate) if self._reader is not None else self._locate
        # One Location per country (a frozen dataclass costs more to build than the lookup).
        self._countries: dict[str, Location] = {}

    def _locate(self, ip: str) -> Location:
        try:
            country = iptocc.country_code(ip) or ""
        except ValueError:
            return UNKNOWN
        if self._reader is None:
            if not country:
                return UNKNOWN
            found = self._countries.get(country)
            if found is None:
                found = self._countries[country] = Location(country_code=country)
            return found
        try:
            record = self._reader.get(ip)
        except ValueError:
            record = None
        if not record:
            return Location(country_code=country) if country else UNKNOWN
        country = (record.get("country") or {}).get("iso_code") or country
        subdivisions = record.get("subdivisions") or []
        region = region_code(country, subdivisions[0]) if subdivisions and country else ""
        city = ((record.get("city") or {}).get("names") or {}).get("en", "")
        return Location(country_code=country, region=region, city=city)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
