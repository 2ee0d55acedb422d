"""Launch areas and target lookup.

Launch-area names are those of the Ukrainian Air Force reports as digitised
in the attack dataset (../shared/data/attacks/missile_attacks_daily.csv,
column ``launch_place``; "Massive Missile Attacks on Ukraine", Petro
Ivaniuk, Kaggle). Coordinates are approximate public locations of the named
airfields, towns or areas [est]; a scenario can add its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from airshield.geo import Site, load_cities


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    lat: float
    lon: float
    radius_km: float = 15.0


LAUNCH_AREAS: dict[str, Place] = {
    p.id: p
    for p in (
        # Shahed launch sites named in the Air Force reports.
        Place("primorsko-akhtarsk", "Primorsko-Akhtarsk", 46.05, 38.17),
        Place("kursk", "Kursk oblast", 51.75, 36.19, 30.0),
        Place("bryansk", "Bryansk oblast", 53.25, 34.37, 30.0),
        Place("oryol", "Oryol oblast", 52.97, 36.07, 30.0),
        Place("millerovo", "Millerovo", 48.92, 40.40),
        Place("shatalovo", "Shatalovo", 54.33, 32.47),
        Place("navlya", "Navlya", 52.83, 34.50),
        Place("hvardiiske", "Hvardiiske, Crimea", 45.12, 34.02),
        Place("chauda", "Cape Chauda, Crimea", 45.00, 35.84),
        Place("donetsk", "Donetsk oblast (occupied)", 48.00, 37.80, 25.0),
        Place("yeysk", "Yeysk", 46.68, 38.27),
        # Cruise missile launch areas: Tu-95MS over Volgodonsk, ships off Novorossiysk.
        Place("volgodonsk", "Volgodonsk area (Tu-95MS)", 47.50, 42.20, 40.0),
        Place("black-sea", "Black Sea off Novorossiysk (ships)", 44.30, 37.30, 40.0),
        # Iskander-M / KN-23 launch areas.
        Place("belgorod", "Belgorod oblast", 50.60, 36.60, 20.0),
        Place("voronezh", "Voronezh oblast", 51.67, 39.20, 30.0),
        Place("dzhankoi", "Dzhankoi, Crimea", 45.71, 34.39, 20.0),
    )
}


def resolve_targets(names: list[str], cities: list[Site] | None = None) -> list[Site]:
    """Cities by English name (GeoNames name or any Latin alternate name), case-insensitive.

    Raises ValueError naming the unknown target.
    """
    cities = cities if cities is not None else load_cities()
    by_name: dict[str, Site] = {}
    for c in cities:  # largest first, so a name shared by two places takes the larger
        by_name.setdefault(c.name.casefold(), c)
    out = []
    for n in names:
        site = by_name.get(n.casefold()) or _by_alias(n, cities)
        if site is None:
            raise ValueError(f"unknown target city {n!r} (the targets are Ukraine's GeoNames cities of >= 15,000 "
                             "people, by their English names, e.g. Kyiv, Kharkiv, Odesa)")
        out.append(site)
    return out


ALIASES = {
    "zaporizhzhia": "Zaporizhzhya",
    "mykolaiv": "Mykolayiv",
    "vinnytsia": "Vinnytsya",
    "kryvyi rih": "Kryvyy Rih",
    "kiev": "Kyiv",
    "odessa": "Odesa",
}


def _by_alias(name: str, cities: list[Site]) -> Site | None:
    alias = ALIASES.get(name.casefold())
    if alias is None:
        return None
    return next((c for c in cities if c.name == alias), None)
