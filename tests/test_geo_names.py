"""Region names and code tables, checked against pycountry (ISO 3166-2)."""

import pycountry
import pytest

from airshield.geo.fips import FIPS_TO_ISO
from airshield.geo.names_uk import OBLASTS, transliterate_uk

ISO_UA = {s.code: s for s in pycountry.subdivisions.get(country_code="UA")}


def test_oblast_table_covers_exactly_the_iso_3166_2_ua_codes():
    assert set(OBLASTS) == set(ISO_UA)


@pytest.mark.parametrize("code", sorted(ISO_UA))
def test_ukrainian_name_transliterates_to_the_iso_3166_2_name(code):
    # pycountry has "Kyivska oblast", "Kyiv City", "Avtonomna Respublika Krym".
    iso_name = ISO_UA[code].name.removesuffix(" City")
    assert transliterate_uk(OBLASTS[code].uk).lower() == iso_name.lower()


@pytest.mark.parametrize(
    ("ukrainian", "latin"),
    [  # examples from the 2010 resolution of the Cabinet of Ministers
        ("Київ", "Kyiv"),
        ("Згорани", "Zghorany"),
        ("Розгон", "Rozghon"),
        ("Знам'янка", "Znamianka"),
        ("Короп’є", "Koropie"),
        ("Їжакевич", "Yizhakevych"),
        ("Кадиївка", "Kadyivka"),
        ("Юрій", "Yurii"),
        ("Яготин", "Yahotyn"),
        ("Щастя", "Shchastia"),
        ("Феодосія", "Feodosiia"),
        ("Івано-Франківськ", "Ivano-Frankivsk"),
    ],
)
def test_transliteration_follows_the_official_2010_system(ukrainian, latin):
    assert transliterate_uk(ukrainian) == latin


def test_transliteration_can_use_y_forms_everywhere_like_older_geonames_names():
    assert transliterate_uk("Миколаїв", y_forms_everywhere=True) == "Mykolayiv"
    assert transliterate_uk("Миколаїв") == "Mykolaiv"


def test_fips_table_maps_each_fips_code_to_a_distinct_iso_code():
    isos = [row.iso for row in FIPS_TO_ISO.values()]
    assert sorted(isos) == sorted(OBLASTS)
    assert sorted(FIPS_TO_ISO) == [f"UP{i:02d}" for i in range(1, 28)]
    assert FIPS_TO_ISO["UP12"].iso == "UA-30"  # Kyiv city
    assert FIPS_TO_ISO["UP13"].iso == "UA-32"  # Kyiv oblast
