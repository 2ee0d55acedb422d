"""Where airshield finds its geographic data files.

Two places, both outside the Python package:

* the shared folder ``../shared`` beside the repository (the project's read-only
  data, e.g. ``data/geo/ukraine-adm1-geoboundaries.geojson``);
* ``<repo>/.cache/natural-earth/world_map.gpkg``, fetched by ``make data``
  (``scripts/fetch-natural-earth``) from Debian's ``qgis-common`` package.

Environment variables override both, for installed (non-editable) packages and
for tests: ``AIRSHIELD_SHARED`` and ``AIRSHIELD_NATURAL_EARTH``.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_ENV = "AIRSHIELD_SHARED"
NATURAL_EARTH_ENV = "AIRSHIELD_NATURAL_EARTH"

# src/airshield/geo/paths.py -> parents[0] geo, [1] airshield, [2] src, [3] the repository.
_REPO_ROOT = Path(__file__).resolve().parents[3]


def repo_root() -> Path:
    """The repository this package was loaded from (a source checkout, src layout).

    Meaningful only for a source checkout or an editable install; for a package
    installed into site-packages it is some unrelated folder, which is why the
    callers below check what they find there.
    """
    return _REPO_ROOT


def shared_dir() -> Path:
    """The shared data folder: ``$AIRSHIELD_SHARED`` if set, else ``<repo>/../shared``.

    Raises:
        FileNotFoundError: the folder does not exist; the message names the path
            that was tried and the environment variable that overrides it.
    """
    env = os.environ.get(SHARED_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"${SHARED_ENV} is set to {path}, which is not a directory")
        return path
    path = _REPO_ROOT.parent / "shared"
    if not path.is_dir():
        raise FileNotFoundError(
            f"shared data folder not found at {path} (looked beside the repository "
            f"{_REPO_ROOT}); set ${SHARED_ENV} to the folder that holds data/geo/"
        )
    return path


def natural_earth_path() -> Path:
    """``<repo>/.cache/natural-earth/world_map.gpkg``, or ``$AIRSHIELD_NATURAL_EARTH`` if set.

    The file may not exist; `make data` fetches it.
    """
    env = os.environ.get(NATURAL_EARTH_ENV)
    if env:
        return Path(env).expanduser()
    return _REPO_ROOT / ".cache" / "natural-earth" / "world_map.gpkg"
