"""Warning: where each threat is heading, and when it may reach regions and places.

:mod:`.prediction` predicts paths with growing uncertainty (vectorised over
tracks); :mod:`.region_field` answers "how far is this point from each
region" from signed-distance rasters; :mod:`.picture` keeps a forecast per
threat track current from the tracker's events; :mod:`.sightings` says which
regions a citizen's sighting is near. Parameters with their sources
are in :mod:`.config`.
"""

from airshield.warning.config import PREDICTED, ClassModel, WarningConfig
from airshield.warning.picture import Forecast, Table, ThreatPicture
from airshield.warning.region_field import RegionField

__all__ = ["PREDICTED", "ClassModel", "Forecast", "RegionField", "Table", "ThreatPicture", "WarningConfig"]
