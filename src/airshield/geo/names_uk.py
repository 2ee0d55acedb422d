"""Names of Ukraine's first-level regions, in English and Ukrainian, and transliteration.

`OBLASTS` covers the 27 first-level units of ISO 3166-2:UA (24 oblasts, the
Autonomous Republic of Crimea, and the cities with special status Kyiv and
Sevastopol), keyed by ISO code. The Ukrainian names are those of the
Constitution of Ukraine, article 133; the English names follow the official
romanisation (Cabinet of Ministers resolution No. 55 of 27 January 2010) as
used by the Ukrainian government. pycountry only has transliterated names, so the
Cyrillic is here; tests/test_geo_names.py checks that transliterating each
Ukrainian name gives pycountry's ISO 3166-2 name, which catches typos.
"""

from __future__ import annotations

from typing import NamedTuple


class RegionName(NamedTuple):
    en: str  # English
    uk: str  # Ukrainian, Cyrillic


OBLASTS: dict[str, RegionName] = {
    "UA-05": RegionName("Vinnytsia Oblast", "Вінницька область"),
    "UA-07": RegionName("Volyn Oblast", "Волинська область"),
    "UA-09": RegionName("Luhansk Oblast", "Луганська область"),
    "UA-12": RegionName("Dnipropetrovsk Oblast", "Дніпропетровська область"),
    "UA-14": RegionName("Donetsk Oblast", "Донецька область"),
    "UA-18": RegionName("Zhytomyr Oblast", "Житомирська область"),
    "UA-21": RegionName("Zakarpattia Oblast", "Закарпатська область"),
    "UA-23": RegionName("Zaporizhzhia Oblast", "Запорізька область"),
    "UA-26": RegionName("Ivano-Frankivsk Oblast", "Івано-Франківська область"),
    "UA-30": RegionName("Kyiv", "Київ"),
    "UA-32": RegionName("Kyiv Oblast", "Київська область"),
    "UA-35": RegionName("Kirovohrad Oblast", "Кіровоградська область"),
    "UA-40": RegionName("Sevastopol", "Севастополь"),
    "UA-43": RegionName("Autonomous Republic of Crimea", "Автономна Республіка Крим"),
    "UA-46": RegionName("Lviv Oblast", "Львівська область"),
    "UA-48": RegionName("Mykolaiv Oblast", "Миколаївська область"),
    "UA-51": RegionName("Odesa Oblast", "Одеська область"),
    "UA-53": RegionName("Poltava Oblast", "Полтавська область"),
    "UA-56": RegionName("Rivne Oblast", "Рівненська область"),
    "UA-59": RegionName("Sumy Oblast", "Сумська область"),
    "UA-61": RegionName("Ternopil Oblast", "Тернопільська область"),
    "UA-63": RegionName("Kharkiv Oblast", "Харківська область"),
    "UA-65": RegionName("Kherson Oblast", "Херсонська область"),
    "UA-68": RegionName("Khmelnytskyi Oblast", "Хмельницька область"),
    "UA-71": RegionName("Cherkasy Oblast", "Черкаська область"),
    "UA-74": RegionName("Chernihiv Oblast", "Чернігівська область"),
    "UA-77": RegionName("Chernivtsi Oblast", "Чернівецька область"),
}

# Ukrainian alphabet (33 letters) and the letters that tell Ukrainian apart from
# Russian and Belarusian Cyrillic.
UKRAINIAN_LETTERS = frozenset("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя")
UKRAINIAN_SPECIFIC_LETTERS = frozenset("ґєії")
APOSTROPHES = frozenset("'’ʼ")

# Official transliteration, Cabinet of Ministers of Ukraine resolution No. 55
# (27 January 2010): {letter: (at the start of a word, elsewhere)}.
_TRANSLIT: dict[str, tuple[str, str]] = {
    "а": ("a", "a"), "б": ("b", "b"), "в": ("v", "v"), "г": ("h", "h"), "ґ": ("g", "g"),
    "д": ("d", "d"), "е": ("e", "e"), "є": ("ye", "ie"), "ж": ("zh", "zh"), "з": ("z", "z"),
    "и": ("y", "y"), "і": ("i", "i"), "ї": ("yi", "i"), "й": ("y", "i"), "к": ("k", "k"),
    "л": ("l", "l"), "м": ("m", "m"), "н": ("n", "n"), "о": ("o", "o"), "п": ("p", "p"),
    "р": ("r", "r"), "с": ("s", "s"), "т": ("t", "t"), "у": ("u", "u"), "ф": ("f", "f"),
    "х": ("kh", "kh"), "ц": ("ts", "ts"), "ч": ("ch", "ch"), "ш": ("sh", "sh"),
    "щ": ("shch", "shch"), "ь": ("", ""), "ю": ("yu", "iu"), "я": ("ya", "ia"),
}  # fmt: skip


def transliterate_uk(text: str, y_forms_everywhere: bool = False) -> str:
    """Romanise Ukrainian text with the official 2010 system ("Київ" -> "Kyiv").

    Soft signs and apostrophes are dropped, "зг" becomes "zgh", and the
    capitalisation of each letter carries over to the first letter of its
    romanisation. Characters outside the Ukrainian alphabet pass through.

    With ``y_forms_everywhere``, є ї й ю я are written ye yi y yu ya in every
    position, as in the older BGN/PCGN romanisation that many GeoNames names
    follow ("Миколаїв" -> "Mykolayiv" rather than "Mykolaiv").
    """
    out: list[str] = []
    previous = ""
    for char in text:
        lower = char.lower()
        if lower in APOSTROPHES:
            previous = lower
            continue
        if lower not in _TRANSLIT:
            out.append(char)
            previous = lower
            continue
        at_start = y_forms_everywhere or not (previous.isalpha() or previous in APOSTROPHES)
        latin = _TRANSLIT[lower][0 if at_start else 1]
        if lower == "г" and previous == "з":
            latin = "gh"
        if char != lower and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
        previous = lower
    return "".join(out)
