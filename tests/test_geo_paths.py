"""Where the data files are looked for."""

import pytest

from airshield.geo import natural_earth_path, paths, shared_dir


def test_shared_dir_is_the_shared_folder_beside_the_repository(monkeypatch):
    monkeypatch.delenv("AIRSHIELD_SHARED", raising=False)
    path = shared_dir()
    assert path == paths.repo_root().parent / "shared"
    assert (path / "data" / "geo" / "ukraine-adm1-geoboundaries.geojson").is_file()


def test_airshield_shared_overrides_the_shared_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRSHIELD_SHARED", str(tmp_path))
    assert shared_dir() == tmp_path


def test_a_missing_shared_dir_names_the_path_and_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRSHIELD_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        shared_dir()
    monkeypatch.delenv("AIRSHIELD_SHARED")
    monkeypatch.setattr(paths, "_REPO_ROOT", tmp_path / "repo")
    with pytest.raises(FileNotFoundError, match="AIRSHIELD_SHARED"):
        shared_dir()


def test_natural_earth_path_is_in_the_repository_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRSHIELD_NATURAL_EARTH", raising=False)
    assert natural_earth_path() == paths.repo_root() / ".cache" / "natural-earth" / "world_map.gpkg"
    monkeypatch.setenv("AIRSHIELD_NATURAL_EARTH", str(tmp_path / "ne.gpkg"))
    assert natural_earth_path() == tmp_path / "ne.gpkg"
