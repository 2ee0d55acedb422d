"""FIPS 10-4 codes of Ukraine's first-level regions, mapped to ISO 3166-2:UA.

Natural Earth's ``states_provinces`` layer (as shipped in Debian's qgis-common,
Natural Earth 4.1.0, public domain) has no ISO 3166-2 column for Ukraine, only
``fips`` (UP01 ... UP27, FIPS PUB 10-4, withdrawn 2008 but still the key of many
data sets). FIPS numbers the regions alphabetically by their old romanised
names; ISO numbers them by a different scheme, hence this table.

Each row also holds the Natural Earth ``name`` the mapping was checked against,
by hand, one by one; the loader refuses a file whose names disagree, so a future
Natural Earth that renumbers or renames cannot silently shift regions.
"""

from __future__ import annotations

from typing import NamedTuple


class FipsRegion(NamedTuple):
    iso: str  # ISO 3166-2 code
    natural_earth_name: str  # `name` in Natural Earth 4.1.0 states_provinces


FIPS_TO_ISO: dict[str, FipsRegion] = {
    "UP01": FipsRegion("UA-71", "Cherkasy"),
    "UP02": FipsRegion("UA-74", "Chernihiv"),
    "UP03": FipsRegion("UA-77", "Chernivtsi"),
    "UP04": FipsRegion("UA-12", "Dnipropetrovs'k"),
    "UP05": FipsRegion("UA-14", "Donets'k"),
    "UP06": FipsRegion("UA-26", "Ivano-Frankivs'k"),
    "UP07": FipsRegion("UA-63", "Kharkiv"),
    "UP08": FipsRegion("UA-65", "Kherson"),
    "UP09": FipsRegion("UA-68", "Khmel'nyts'kyy"),
    "UP10": FipsRegion("UA-35", "Kirovohrad"),
    # Natural Earth 4.1.0 files Crimea (UP11) and Sevastopol (UP20) under
    # iso_a2 = 'RU'; load_natural_earth reads them by these FIPS codes.
    "UP11": FipsRegion("UA-43", "Crimea"),
    "UP12": FipsRegion("UA-30", "Kiev City"),
    "UP13": FipsRegion("UA-32", "Kiev"),
    "UP14": FipsRegion("UA-09", "Luhans'k"),
    "UP15": FipsRegion("UA-46", "L'viv"),
    "UP16": FipsRegion("UA-48", "Mykolayiv"),
    "UP17": FipsRegion("UA-51", "Odessa"),
    "UP18": FipsRegion("UA-53", "Poltava"),
    "UP19": FipsRegion("UA-56", "Rivne"),
    "UP20": FipsRegion("UA-40", "Sevastopol"),
    "UP21": FipsRegion("UA-59", "Sumy"),
    "UP22": FipsRegion("UA-61", "Ternopil'"),
    "UP23": FipsRegion("UA-05", "Vinnytsya"),
    "UP24": FipsRegion("UA-07", "Volyn"),
    "UP25": FipsRegion("UA-21", "Transcarpathia"),
    "UP26": FipsRegion("UA-23", "Zaporizhzhya"),
    "UP27": FipsRegion("UA-18", "Zhytomyr"),
}
