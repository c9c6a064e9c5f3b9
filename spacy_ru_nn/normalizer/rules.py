"""Normal forms of Russian names from pymorphy3's analyses: no spaCy here, only words.

A person's name parts are put in the nominative singular of the person's gender; the case and
gender are the ones most parts can share ("Клавдии Ивановны Петуховой" is one woman in the
genitive). A place or organisation is a head noun with the adjectives before it, which agree
with it and go into the nominative, and dependents after it, which stay as written ("мэрии
Москвы" -> "мэрия Москвы"). Latin script, abbreviations and words with inner capitals stay
as written; so do words pymorphy3 does not know where they do not end like an oblique case
("Тоттенхэм") or end like a foreign name that does not decline ("Пелоси"). Where pymorphy3
has no reading in the case a name's other parts share, a man's surname loses the ending of a
consonant stem ("Брэда Питта"); an unknown place name that ends in a consonant and -е loses
the -е of the locative ("Тоттенхэме").
"""
import re
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import pymorphy3
from pymorphy3.analyzer import Parse
from pymorphy3.tagset import OpencorporaTag
from pymorphy3.units import DictionaryAnalyzer

CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct", "voct")
# The second genitive, accusative and locative ("в аэропорту") agree like the first ones.
CASE_OF = {"gen2": "gent", "acc2": "accs", "loc2": "loct", "gen1": "gent", "loc1": "loct"}
GENDERS = ("masc", "femn")
NAME_TAGS = ("Name", "Surn", "Patr")
ADJECTIVES = ("ADJF", "PRTF")
# Letters of a Cyrillic abbreviation followed by a case ending: "МИДа", "ГАБТом", "АвтоВАЗа",
# "МИСиСа": two capitals in a row, and a capital right before the ending ("ВымпелКом" is whole).
ABBREVIATION_ENDING = re.compile(r"^((?=[А-ЯЁа-яё]*[А-ЯЁ]{2})[А-ЯЁа-яё]*[А-ЯЁ])(а|у|ом|е|ой|ы|и|ов|ам|ами|ах)$")
# Foreign names that do not decline end in these vowels ("Пелоси", "Нисипяну", "Саломе").
INDECLINABLE_ENDINGS = frozenset("еиоуэю")
# Unknown place names ending in these do not decline: "Живерни", "Хабомаи", "Сочо", not
# "Гагаузии", nor the datives of "Росприроднадзору"; nor does a neuter in -ье ("Цетинье").
PLACE_INDECLINABLE_ENDINGS = frozenset("иоэ")
# The cases those vowels mark on a noun ending in a consonant: "Мильнеру", "Питте", and -и
# after the velars that take it for -ы: "Дерипаски" is a genitive of "Дерипаска" (after
# the hushing letters, foreign names are as likely: "Туччи").
STEM_ENDING_CASES = {
    "у": ("datv",),
    "ю": ("datv",),
    "е": ("loct",),
    **{consonant + "и": ("gent",) for consonant in "кгх"},
}
# Endings of the oblique cases: an unknown place name ending otherwise is read as written.
OBLIQUE_ENDINGS = tuple("аяыиеуюо") + ("ом", "ем", "ам", "ям", "ах", "ях", "ов", "ев", "ой", "ей")
# Case endings of a man's name that ends in a consonant: "Данна", "Данну", "Данном", "Данне".
STEM_ENDINGS = ("ом", "ем", "а", "я", "у", "ю", "е")
# A consonant and the locative ending: "Тоттенхэме", not "Вейк-ан-Зее".
CONSONANT_LOCATIVE = re.compile(r"[бвгджзклмнпрстфхцчшщ]е$", re.IGNORECASE)
# The locative of a place named with the feminine suffix -овка/-евка/-инка ("Тарасовке").
FEMININE_PLACE_LOCATIVE = re.compile(r"(ов|ев|ёв|ин)ке$", re.IGNORECASE)
# The articles and saints' titles that open foreign place names and do not decline: "Сан
# Луисе", "Аль Аин", "Санта Крусе".
FOREIGN_ARTICLES = frozenset(
    "сан санта санто сент сен лос лас эль аль ла ле де дель дос дас".split()
)
# A place named by what it stands on, joined by a lowercase particle: "Ростов-на-Дону",
# "Франкфурт-на-Майне", "Вейк-ан-Зее"; only the first part declines.
PARTICLE_TAIL = re.compile(r"^([А-ЯЁ][а-яё]+)(-[а-яё]{1,4}-[А-ЯЁ].*)$")
# Adjectives used as nouns: the head of what follows them ("сборной России").
NOUN_ADJECTIVES = frozenset({"сборный", "набережный", "приёмный"})
# The endings of a man's name that ends in a consonant, -й or -ь ("де Сталя"), by case: (ending, the letters
# the stem may end in, what the nominative adds to the stem).
HARD = "бвгдзклмнпрстфх"
HUSHING = "жцчшщ"
VOWELS = "аеёиоуыэюя"
MASCULINE_ENDINGS = {
    "gent": (("а", HARD + HUSHING, ""), ("я", VOWELS, "й"), ("я", HARD, "ь")),
    "accs": (("а", HARD + HUSHING, ""), ("я", VOWELS, "й"), ("я", HARD, "ь")),
    "datv": (("у", HARD + HUSHING, ""), ("ю", VOWELS, "й"), ("ю", HARD, "ь")),
    "ablt": (("ом", HARD, ""), ("ем", HUSHING, ""), ("ем", VOWELS, "й"), ("ем", HARD, "ь")),
    "loct": (("е", HARD + HUSHING, ""),),
}
# Surnames that decline by their ending: (the letters the stem ends in, [(ending, gender,
# cases, what the nominative adds to the stem)]). "Карасиным" is a man's "Карасин",
# "Сафарбаковой" a woman's "Сафарбакова", "Маковского" a man's "Маковский", "Райкконена" a
# man's "Райкконен".
SURNAME_PARADIGMS = (
    (
        ("ов", "ев", "ёв", "ин", "ын"),
        (
            ("а", "masc", ("gent", "accs"), ""),
            ("у", "masc", ("datv",), ""),
            ("ым", "masc", ("ablt",), ""),
            ("е", "masc", ("loct",), ""),
            ("ой", "femn", ("gent", "datv", "ablt", "loct"), "а"),
            ("у", "femn", ("accs",), "а"),
        ),
    ),
    (
        # Finnish surnames in -нен: "Райкконена", "Ковалайнену".
        ("нен",),
        (
            ("а", "masc", ("gent", "accs"), ""),
            ("у", "masc", ("datv",), ""),
            ("ом", "masc", ("ablt",), ""),
            ("е", "masc", ("loct",), ""),
        ),
    ),
    (
        ("ск", "цк"),
        (
            ("ого", "masc", ("gent", "accs"), "ий"),
            ("ому", "masc", ("datv",), "ий"),
            ("им", "masc", ("ablt",), "ий"),
            ("ом", "masc", ("loct",), "ий"),
            ("ой", "femn", ("gent", "datv", "ablt", "loct"), "ая"),
            ("ую", "femn", ("accs",), "ая"),
        ),
    ),
)
# The cases a preposition governs: a name right after one is in one of them.
PREPOSITION_CASES: Dict[str, FrozenSet[str]] = {
    **dict.fromkeys(
        "без для до из из-за из-под от у около вокруг возле после против среди кроме мимо ради "
        "вместо вдоль внутри вне посреди близ напротив накануне относительно помимо позади "
        "насчёт насчет".split(),
        frozenset({"gent"}),
    ),
    **dict.fromkeys("к ко благодаря согласно вопреки навстречу".split(), frozenset({"datv"})),
    **dict.fromkeys("про через сквозь".split(), frozenset({"accs"})),
    **dict.fromkeys("над надо перед передо между".split(), frozenset({"ablt"})),
    **dict.fromkeys("о об обо при".split(), frozenset({"loct"})),
    **dict.fromkeys("в во на".split(), frozenset({"loct", "accs"})),
    **dict.fromkeys("за под подо".split(), frozenset({"accs", "ablt"})),
    **dict.fromkeys("с со".split(), frozenset({"ablt", "gent"})),
    "по": frozenset({"datv"}),
}
ADJECTIVE_ENDINGS = ("ого", "его", "ому", "ему", "ую", "юю")
CYRILLIC_LETTER = re.compile(r"[а-яёА-ЯЁ]")
CYRILLIC_WORD = re.compile(r"^[а-яёА-ЯЁ]+(-[а-яёА-ЯЁ]+)*$")


class Morphology:
    """pymorphy3 with a cache of parses: entity words repeat across a corpus."""

    def __init__(self, cache_size: int = 100_000) -> None:
        self.analyzer = pymorphy3.MorphAnalyzer(lang="ru")
        self.parse = lru_cache(maxsize=cache_size)(self._parse)

    def _parse(self, word: str) -> Tuple[Parse, ...]:
        return tuple(self.analyzer.parse(word))


@dataclass(frozen=True)
class Weights:
    """How much each kind of evidence counts when the readings of a mention compete.

    name_bonus: a reading as a first name, patronymic or surname over a common noun.
    nominative_prior: a person's mention in the nominative, as written.
    name_nominative_prior: the same for a place's or organisation's head.
    masculine_prior: a man rather than a woman, when nothing else tells.
    unknown_as_written: a word pymorphy3 does not know, ending like a name that does not
        decline, read as written.
    guessed_name_bonus: the same for a name pymorphy3 guesses from its ending alone.
    case_ending_as_written: the share of `unknown_as_written` an unknown word keeps in the
        cases its ending does not mark, when the ending marks one on a consonant stem
        ("Моралесу": the dative of "Моралес").
    surname_paradigm: a surname read by its ending ("Карасиным" -> "Карасин").
    consonant_stem: a man's name read as a consonant stem with a case ending ("Питта").
    context_bonus: a reading in a case the preceding word allows ("у", "президентом").
    document_bonus: a reading that gives a name another mention in the document gives.
    """

    name_bonus: float = 0.5
    nominative_prior: float = 0.1
    name_nominative_prior: float = 0.1
    masculine_prior: float = 0.1
    unknown_as_written: float = 1.0
    guessed_name_bonus: float = 0.5
    case_ending_as_written: float = 1.0
    surname_paradigm: float = 0.6
    consonant_stem: float = 0.3
    context_bonus: float = 1.0
    document_bonus: float = 1.0


def restore_case(written: str, normal: str) -> str:
    """The written word's capitals on its normal form, hyphen part by hyphen part."""
    written_parts, normal_parts = written.split("-"), normal.split("-")
    if len(written_parts) != len(normal_parts):
        written_parts, normal_parts = [written], [normal]
    cased = []
    for w, n in zip(written_parts, normal_parts):
        if len(w) > 1 and w.isupper():
            cased.append(n.upper())
        elif w[:1].isupper():
            cased.append(n[:1].upper() + n[1:].lower())
        else:
            cased.append(n.lower())
    return "-".join(cased)


def is_declinable(word: str) -> bool:
    """Cyrillic words in lower or title case: Latin, digits, abbreviations ("МИД") and
    words with inner capitals ("БелТА", "ВКонтакте") stay as written."""
    if not CYRILLIC_WORD.match(word):
        return False
    return all(part[1:].islower() or len(part) == 1 for part in word.split("-"))


def is_indeclinable_like(word: str) -> bool:
    """Ends like a foreign name that does not decline ("Пелоси", "Нисипяну", "Саломе"), not
    like an adjectival surname's case ending ("Рымашевского", "Луговому")."""
    word = word.lower()
    if len(word) > 2 and word[-1] == "а" and word[-2] in VOWELS:
        # A vowel before the final -а: "Гаргантюа", "Медиа".
        return True
    return word[-1:] in INDECLINABLE_ENDINGS and not word.endswith(ADJECTIVE_ENDINGS)


def looks_oblique(word: str) -> bool:
    """Ends in a vowel or a case ending: "Ньюпорте", "Викиновостям", not "Тоттенхэм"."""
    return word.lower().endswith(OBLIQUE_ENDINGS)


def case_of(parse: Parse) -> Optional[str]:
    case = parse.tag.case
    return CASE_OF.get(case, case)


def is_known(parses: Sequence[Parse]) -> bool:
    """Whether pymorphy3's dictionary holds the word, rather than guessing from its ending."""
    return any(len(p.methods_stack) == 1 and isinstance(p.methods_stack[0][0], DictionaryAnalyzer) for p in parses)


def inflect(parse: Parse, grammemes: Iterable[str]) -> Optional[str]:
    """The form with these grammemes; of a word's several ("высочайшая", "высшая";
    "Аль-Каида", "Аль-Кайда"), the one that keeps most of the written word ("Высшей школы" ->
    "Высшая школа", "Аль-Кайды" -> "Аль-Кайда")."""
    wanted = set(grammemes)
    form = parse.inflect(wanted)
    if form is None:
        return None
    slot = _slot(form.tag)
    paradigm = _paradigm(parse)
    if paradigm is not None and slot not in _variant_slots(*paradigm):
        # Most paradigms have one form per slot: no need to build the whole lexeme.
        return form.word
    forms = [form] + [f for f in parse.lexeme if _slot(f.tag) == slot]
    return max(forms, key=lambda f: _common_prefix(f.word, parse.word)).word


def _paradigm(parse: Parse) -> Optional[Tuple[DictionaryAnalyzer, int]]:
    """The dictionary and paradigm a reading inflects by, where it is a dictionary word or a
    guess by analogy with one (pymorphy3's FakeDictionary); None for compound readings."""
    unit, *info = parse.methods_stack[0]
    if isinstance(unit, DictionaryAnalyzer) and len(info) == 3:
        return unit, info[1]
    return None


@lru_cache(maxsize=None)
def _variant_slots(unit: DictionaryAnalyzer, paradigm_id: int) -> FrozenSet[Tuple[Optional[str], ...]]:
    """The slots a paradigm fills with more than one form ("высшая", "высочайшая")."""
    slots = [_slot(tag) for _, tag, _ in unit.dict.build_paradigm_info(paradigm_id)]
    return frozenset(slot for slot in slots if slots.count(slot) > 1)


@lru_cache(maxsize=None)
def _slot(tag: OpencorporaTag) -> Tuple[Optional[str], ...]:
    """The grammemes that make two forms of a lexeme variants of one form. pymorphy3 has a
    few thousand tags, and reading a grammeme off a tag is slow: each is computed once."""
    # Plain strings: pymorphy3's typed grammemes compare slowly.
    return tuple(None if value is None else str(value) for value in (tag.POS, tag.case, tag.number, tag.gender, tag.animacy))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _is_name_like(tag: OpencorporaTag) -> bool:
    return any(t in tag for t in NAME_TAGS) or tag.POS in ADJECTIVES


def _person_fit(parse: Parse, gender: str, name_bonus: float, guessed: bool = False, has_surname: bool = False) -> float:
    """How well one analysis fits a name part of a person of this gender, in its own case."""
    terms = _person_fit_terms(parse.tag, gender, guessed, has_surname)
    if terms is None:
        return 0.0
    bonus, factor = terms
    return (parse.score + (name_bonus if bonus else 0.0)) * factor


@lru_cache(maxsize=None)
def _person_fit_terms(tag: OpencorporaTag, gender: str, guessed: bool, has_surname: bool) -> Optional[Tuple[bool, float]]:
    """What a tag does to a reading's fit: whether it earns the name bonus and the factor its
    score and bonus are multiplied by; None where it does not fit at all. pymorphy3's tags are
    slow to query and few: each is read once."""
    pos = tag.POS
    name_like = _is_name_like(tag)
    if pos not in ("NOUN",) + ADJECTIVES:
        return None
    if name_like and not (guessed and pos == "NOUN"):
        # First names, patronymics, -ов/-ин surnames and adjectival surnames carry the gender;
        # a guessed name's gender is its ending's, and a man's name may end in -а ("Соланы").
        if gender not in tag and "ms-f" not in tag and not (pos in ADJECTIVES and tag.number == "plur"):
            return None
    # An adjective is a surname's reading where pymorphy3 knows no surname: "Толстым" is
    # "Толстой" before it is "толстый".
    bonus = name_like and not (pos in ADJECTIVES and has_surname)
    factor = 1.0
    if tag.number == "plur":
        # A singular person: a plural form is a misspelt or mistagged one, the last resort.
        factor *= 0.1
    if tag.gender is not None and gender not in tag and "ms-f" not in tag and guessed == name_like:
        # A common noun of the other gender ("ангел" in "Ангелы Меркель") yields to a name,
        # and so does a name of the other gender guessed from an ending: "Лаженесса" in
        # "Саймона Лаженесса". A guessed common noun's gender is only its ending's: a man's
        # "Маехары" is a "Маехара".
        factor *= 0.5
    return bonus, factor


def _as_written_cases(word: str, parses: Sequence[Parse]) -> Tuple[Tuple[str, ...], float, Tuple[str, ...]]:
    """The cases an unknown word fits as written in, how well (a share of the weight), and
    the cases its ending marks on a declining word instead. A name ending like one that does
    not decline ("Пелоси", "Рютте") fits every case, so that the other parts decide; but
    "Мильнеру" is the dative of "Мильнер" and "Дерипаски" the genitive of "Дерипаска" as
    likely as names that do not decline. One ending in a consonant ("Малкейр") fits the
    nominative; one ending in -а/-я like "Ларрионда", as likely a nominative as the genitive
    pymorphy3 guesses, half."""
    if not parses or is_known(parses):
        return (), 0.0, ()
    if is_indeclinable_like(word):
        marked = STEM_ENDING_CASES.get(word[-2:].lower(), ()) or STEM_ENDING_CASES.get(word[-1:].lower(), ())
        return CASES, 1.0, marked
    # A name pymorphy3 guesses does not decline ("Сейджи") is as written in every case.
    cases = CASES if any("Fixd" in p.tag for p in parses) else ("nomn",)
    if not looks_oblique(word) or word.lower().endswith("ей"):
        # A person's "-ей" is a nominative ("Кащей"), not a genitive plural.
        return cases, 1.0, ()
    return cases, 0.5 if word[-1:].lower() in "ая" else 0.0, ()


# A person's table: (gender, case) -> how well one word fits there and its nominative then.
Fit = Tuple[float, Callable[[], str]]
PersonTable = Dict[Tuple[str, str], Fit]


def _parse_nominative(word: str, parse: Parse, gender: str, morph: "Morphology") -> str:
    if "Fixd" in parse.tag or parse.tag.case == "nomn" and parse.tag.number == "sing":
        return word
    if parse.tag.number == "plur" and _reads_as_nominative(word, morph):
        # A plural reading is the last resort; a word that is also a nominative singular
        # is a surname that does not decline, as a woman's "Стингрей" in "Джоанны Стингрей".
        return word
    wanted = {"nomn", "sing"}
    if parse.tag.POS in ADJECTIVES:
        # An adjectival surname takes the person's gender, whatever gender it is written in.
        wanted.add(gender)
    form = inflect(parse, wanted) or inflect(parse, {"nomn"}) or parse.normal_form
    if not is_known((parse,)):
        # A guess has no business spelling ё where the text spells е: "Расмуссена" is a
        # "Расмуссен", not a "Расмуссён".
        form = "".join("е" if c == "ё" and word[i : i + 1].lower() == "е" else c for i, c in enumerate(form))
    return restore_case(word, form)


def _surname_forms(word: str) -> Iterable[Tuple[str, str, str]]:
    """(gender, case, nominative) of a surname by its ending alone: -ов/-ев/-ин and -ский
    surnames decline alike, whether pymorphy3 knows them ("Карасиным" -> "Карасин",
    "Маковского" -> "Маковский", "Сафарбаковой" -> "Сафарбакова") or not."""
    lower = word.lower()
    if "-" in word:
        # "Купровская-Денисова": each part would need its own reading.
        return
    for stem_endings, paradigm in SURNAME_PARADIGMS:
        for ending, gender, cases, nominative in paradigm:
            stem_length = len(word) - len(ending)
            if lower.endswith(ending) and stem_length >= 3 and lower[:stem_length].endswith(stem_endings):
                for case in cases:
                    yield gender, case, word[:stem_length] + nominative


def _person_table(
    word: str,
    parses: Sequence[Parse],
    morph: "Morphology",
    weights: "Weights",
    document_names: FrozenSet[str] = frozenset(),
    inner: bool = False,
) -> PersonTable:
    """Where one word of a person's name fits: (gender, case) -> the best fit and the
    nominative it gives, from pymorphy3's readings, the word as written, a surname's
    paradigm and the endings of a man's name that ends in a consonant. A reading that gives
    one of the document's names counts `document_bonus` more. `inner`: the word is neither
    the first nor the last of the name."""
    table: PersonTable = {}

    def offer(gender: str, case: str, fit: float, nominative: Callable[[], str]) -> None:
        if fit > 0.0 and document_names and folded(nominative()) in document_names:
            fit += weights.document_bonus
        if fit > table.get((gender, case), NO_FIT)[0]:
            table[(gender, case)] = (fit, nominative)

    if not parses:
        return table
    cases, share, marked = _as_written_cases(word, parses)
    if inner and not looks_oblique(word) and not any("Patr" in p.tag for p in parses):
        # The inner parts of a foreign name do not decline ("Кима Чен Ира", "Андерса Фог
        # Расмуссена"); a patronymic does.
        cases, share, marked = CASES, 1.0, ()
    guessed = not is_known(parses)
    has_surname = any("Surn" in p.tag for p in parses)
    # At a tie, an unknown surname in -ов/-ин declines as a possessive ("Тимаковой" of
    # "Тимакова"), not as a qualitative adjective ("Тимаковая"): possessives go first.
    for parse in sorted(parses, key=lambda p: not (guessed and _is_possessive(p))):
        case = case_of(parse)
        # A word that does not decline is no evidence of the case: it fits them all. That
        # pymorphy3 guesses a word does not decline is the ending's business, above.
        if case is None or "Fixd" in parse.tag and guessed:
            continue
        # A guess that puts back a vowel the ending took, as for "немца" -> "немец", yields
        # to the stem: "Хайнца" is a "Хайнц".
        factor = 0.5 if guessed and _adds_fleeting_vowel(word, parse, case) else 1.0
        bonus = weights.guessed_name_bonus if guessed else weights.name_bonus
        for gender in GENDERS:
            fit = _person_fit(parse, gender, bonus, guessed, has_surname) * factor
            for each in CASES if "Fixd" in parse.tag else (case,):
                offer(gender, each, fit, partial(_parse_nominative, word, parse, gender, morph))
    if word[:1].isupper():
        stressed = _stressed_adjective_lemmas(parses)
        for gender, case, nominative in _surname_forms(word):
            if nominative.endswith("ий") and folded(nominative[:-2] + "ой") in stressed:
                # The paradigm cannot tell "-ский" from "-ской"; the dictionary can: "Донским"
                # is "Донской", as "Толстым" is "Толстой".
                nominative = nominative[:-2] + "ой"
            offer(gender, case, weights.surname_paradigm + weights.name_bonus, partial(str, nominative))
        for case in MASCULINE_ENDINGS:
            stem = _masculine_stem(word, case)
            if stem is not None:
                # A man's surname pymorphy3 knows only as something else ("Брэда Питта"),
                # or not at all ("Саймона Лаженесса"): the ending goes, as for any stem.
                offer("masc", case, weights.consonant_stem, partial(str, stem))
    if word[:1].isupper() and _is_womans_undeclined_surname(word):
        # A woman's surname that ends in a consonant does not decline ("Людмилу Зенькович").
        surname_fits = [_person_fit(p, "masc", weights.name_bonus) for p in parses if "Surn" in p.tag and p.tag.case == "nomn"]
        fit = max(surname_fits, default=weights.unknown_as_written if guessed else 0.0)
        for case in CASES if fit else ():
            offer("femn", case, fit, partial(str, word))
    as_written = weights.unknown_as_written * share
    for case in cases if as_written else ():
        for gender in GENDERS:
            held = table.get((gender, case))
            if case in marked and held is not None:
                # Declined or not, the word fits this case as well as any other.
                table[(gender, case)] = (max(held[0], as_written), held[1])
            else:
                # "Моралесу" is less likely a name that does not decline than a dative.
                fit = as_written * weights.case_ending_as_written if marked else as_written
                offer(gender, case, fit, partial(strip_abbreviation_ending, word))
    return table


NO_FIT: Fit = (0.0, str)


def folded(word: str) -> str:
    """Lowercase, ё as е: how mentions of one name are matched."""
    return word.lower().replace("ё", "е")


def _is_womans_undeclined_surname(word: str) -> bool:
    """Ends in a consonant, but not like a man's -ов/-ин surname nor a case ending ("Эбботом"):
    "Зенькович", "Шмидт", "Стингрей"."""
    lower = word.lower()
    if lower.endswith("ей"):
        return True
    return lower[-1:] in HARD + HUSHING and not lower.endswith(("ин", "ын")) and not looks_oblique(lower)


def _is_possessive(parse: Optional[Parse]) -> bool:
    return parse is not None and "Poss" in parse.tag


def normalize_person(
    words: Sequence[str],
    morph: "Morphology",
    *,
    weights: Optional["Weights"] = None,
    context_cases: FrozenSet[str] = frozenset(),
    document_names: FrozenSet[str] = frozenset(),
) -> List[str]:
    """Each name part in the nominative singular of the gender and case the parts share.

    A word pymorphy3 does not know may be a foreign name that does not decline ("Пелоси"):
    reading it as written competes with the guessed oblique readings. `context_cases` are
    the cases the words around the mention allow ("у Джо Байдена": the genitive);
    `document_names` the nominatives (lowercase, ё as е) the document's other mentions give
    ("Камменос" tells that "Паноса Камменоса" is a genitive).
    """
    weights = weights or Weights()
    # Lowercase words in a name are particles that do not decline ("ибн", "де", "аль-").
    parses = [morph.parse(w) if is_declinable(w) and not w[:1].islower() else () for w in words]
    inner = range(1, len(words) - 1)
    tables = [_person_table(w, ps, morph, weights, document_names, i in inner) for i, (w, ps) in enumerate(zip(words, parses))]
    best: Optional[Tuple[float, str, str]] = None
    for gender in GENDERS:
        for case in CASES:
            total = sum(table.get((gender, case), NO_FIT)[0] for table in tables)
            total += weights.nominative_prior if case == "nomn" else 0.0
            total += weights.masculine_prior if gender == "masc" else 0.0
            total += weights.context_bonus if case in context_cases else 0.0
            if best is None or total > best[0]:
                best = (total, gender, case)
    assert best is not None
    _, gender, case = best
    normal = []
    for word, table in zip(words, tables):
        fit, nominative = table.get((gender, case), NO_FIT)
        normal.append(nominative() if fit > 0.0 else strip_abbreviation_ending(word))
    return normal


def _masculine_stem(word: str, case: str) -> Optional[str]:
    """The nominative of a man's name ending in a consonant or -й, from its ending in this
    case: "Питта" -> "Питт", "Бушем" -> "Буш", "Карзая" -> "Карзай"."""
    if not is_declinable(word) or word[:1].islower():
        return None
    for ending, after, added in MASCULINE_ENDINGS.get(case, ()):
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 2 and stem[-1].lower() in after:
            return stem + added
    return None


def _stressed_adjective_lemmas(parses: Sequence[Parse]) -> FrozenSet[str]:
    """The dictionary's adjectives in -ой a word may be a form of ("донской")."""
    return frozenset(
        folded(p.normal_form) for p in parses if p.tag.POS in ADJECTIVES and p.normal_form.endswith("ой") and is_known((p,))
    )


def _adds_fleeting_vowel(word: str, parse: Parse, case: str) -> bool:
    """Whether a reading's nominative has a vowel between the last two consonants of the
    stem the case ending leaves: "хайнец" of "Хайнца"."""
    stem = _masculine_stem(word, case)
    lemma = parse.normal_form
    if stem is None or parse.tag.POS != "NOUN" or len(lemma) != len(stem) + 1:
        return False
    stem = stem.lower()
    return lemma[:-2] == stem[:-1] and lemma[-1] == stem[-1] and lemma[-2] in "еоё"


def _reads_as_nominative(word: str, morph: Morphology) -> bool:
    return any(p.tag.case == "nomn" and p.tag.number == "sing" and p.tag.POS == "NOUN" for p in morph.parse(word))


def nominative_candidates(word: str, morph: Morphology) -> List[str]:
    """Every nominative singular one word of a name can stand for, under any of its readings
    ("Медведева": "Медведев" or "Медведева"), the word as written first."""
    candidates = [word]
    for parse in morph.parse(word) if is_declinable(word) else ():
        if parse.tag.POS not in ("NOUN",) + ADJECTIVES:
            continue
        wanted = {"nomn", "sing"} | ({parse.tag.gender} if parse.tag.POS in ADJECTIVES and parse.tag.gender else set())
        form = inflect(parse, wanted)
        if form is not None:
            form = restore_case(word, form)
            if form not in candidates:
                candidates.append(form)
    # A foreign name pymorphy3 does not decline ("Данна" of "Питер Данн", "Марку" of "Марк").
    for ending in STEM_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3 and word[: -len(ending)] not in candidates:
            candidates.append(word[: -len(ending)])
    return candidates


def strip_abbreviation_ending(word: str) -> str:
    match = ABBREVIATION_ENDING.match(word)
    return match.group(1) if match else word


def _is_adjective(parses: Sequence[Parse]) -> bool:
    return any(p.tag.POS in ADJECTIVES for p in parses)


def _agrees(parse: Parse, case: str, number: str, gender: Optional[str]) -> bool:
    tag = parse.tag
    if case_of(parse) != case or tag.number != number:
        return False
    return number == "plur" or gender is None or tag.gender is None or gender in tag


def _abbreviation_readings(word: str, morph: Morphology) -> Tuple[Parse, ...]:
    """pymorphy3's readings of an abbreviation ("МИДа" -> "мид", masculine), which tell the
    gender of the adjectives before it."""
    stripped = strip_abbreviation_ending(word)
    if stripped == word and not word.isupper():
        return ()
    return tuple(p for p in morph.parse(stripped.lower()) if "Abbr" in p.tag and p.tag.POS == "NOUN")


def _gender(parse: Parse) -> Optional[str]:
    return parse.tag.gender if parse.tag.gender in ("masc", "femn", "neut") else None


def _agrees_with_next(parses: Sequence[Sequence[Parse]], words: Sequence[str], i: int, morph: Morphology) -> bool:
    """Whether word i is an adjective that agrees with the next word that is not transparent
    nor a foreign word that does not decline ("Национальной Медиа Группы")."""
    j = i + 1
    while j < len(words) - 1 and (_is_transparent(words[j]) or _is_undeclined_foreign(words[j], parses[j])):
        j += 1
    adjectives = [p for p in parses[i] if _is_modifier(p) and p.normal_form not in NOUN_ADJECTIVES]
    if not parses[j] and not CYRILLIC_LETTER.search(words[j]):
        # A name in Latin script ("китайского Apple") has no gender: a singular will do.
        return any(p.tag.number == "sing" for p in adjectives)
    if not parses[j] and not is_declinable(words[j]):
        # An abbreviation does not decline: the adjective need only share its gender.
        return any(
            _agrees(p, case_of(p), "sing", _gender(q))
            for p in adjectives
            for q in _abbreviation_readings(words[j], morph)
        )
    return any(
        q.tag.number is not None and _agrees(p, case_of(q), q.tag.number, _gender(q))
        for p in adjectives
        for q in parses[j]
    )


def _is_transparent(word: str) -> bool:
    """Quotes, commas and "и" between agreeing adjectives ("Всемирной продовольственной и
    сельскохозяйственной организации")."""
    return word == "и" or not any(c.isalnum() for c in word)


def _find_head(words: Sequence[str], parses: Sequence[Sequence[Parse]], morph: Morphology) -> int:
    """The first word that is not an adjective agreeing with the word after it."""
    head = 0
    while head < len(words) - 1 and (
        _is_transparent(words[head]) or _agrees_with_next(parses, words, head, morph)
    ):
        head += 1
    while head > 0 and _is_transparent(words[head]):
        head -= 1
    # In a name of foreign words the last one declines: "Медиа Группы", "Сан Луисе".
    while head < len(words) - 1 and _is_undeclined_foreign(words[head], parses[head]) and _is_capitalized_word(words[head + 1], parses[head + 1]):
        head += 1
    return head


def _is_undeclined_foreign(word: str, parses: Sequence[Parse]) -> bool:
    """A word that does not decline ("Медиа") or that pymorphy3 does not know and that does
    not look inflected ("Тоттенхэм")."""
    if word.lower() in FOREIGN_ARTICLES and word[:1].isupper():
        return True
    if not parses or not word[:1].isupper():
        return False
    if all("Fixd" in p.tag for p in parses):
        return True
    return not is_known(parses) and (is_indeclinable_like(word) or not looks_oblique(word))


def _is_capitalized_word(word: str, parses: Sequence[Parse]) -> bool:
    return bool(parses) and word[:1].isupper()


def _is_modifier(parse: Parse) -> bool:
    """An adjective, or a family's name in the plural, which agrees like one: "Воробьёвых гор"."""
    return parse.tag.POS in ADJECTIVES or "Surn" in parse.tag and parse.tag.number == "plur"


def _agreeing(parses: Sequence[Parse], case: str, number: str, gender: Optional[str]) -> Optional[Parse]:
    """The likeliest adjective reading that agrees with a head in this case, number and gender."""
    agreeing = [p for p in parses if _is_modifier(p) and _agrees(p, case, number, gender)]
    return max(agreeing, key=lambda p: p.score, default=None)


def _to_nominative(words: List[str], i: int, parse: Optional[Parse], number: str) -> None:
    if parse is None or "Fixd" in parse.tag or case_of(parse) == "nomn":
        return
    form = inflect(parse, {"nomn", number}) or inflect(parse, {"nomn"})
    if form is not None:
        words[i] = restore_case(words[i], form)


def normalize_name(
    words: Sequence[str],
    morph: Morphology,
    *,
    weights: Optional[Weights] = None,
    context_cases: FrozenSet[str] = frozenset(),
) -> List[str]:
    """A place or organisation: the head noun and the adjectives before it in the nominative,
    in the head's number; whatever follows the head stays as written. `context_cases` are
    the cases the words around the mention allow ("в Кабуле": the locative or accusative)."""
    # "Ростове-на-Дону", "Вейк-ан-Зее": what follows the particle depends on the first part.
    splits = [PARTICLE_TAIL.match(word) for word in words]
    cores = [match.group(1) if match else word for match, word in zip(splits, words)]
    normal = _normalize_name_words(cores, morph, weights or Weights(), context_cases)
    return [word + (match.group(2) if match else "") for word, match in zip(normal, splits)]


def _normalize_name_words(
    words: Sequence[str], morph: Morphology, weights: Weights, context_cases: FrozenSet[str]
) -> List[str]:
    parses = [morph.parse(w) if is_declinable(w) else () for w in words]
    head = _find_head(words, parses, morph)
    modifiers = [i for i in range(head) if parses[i]]
    normal = [strip_abbreviation_ending(w) if i == head else w for i, w in enumerate(words)]
    if not parses[head]:
        # An abbreviation ("японского МИДа") or a foreign word: its gender, if pymorphy3
        # knows the abbreviation, still puts the adjectives before it in the nominative.
        readings = _abbreviation_readings(words[head], morph)
        # A name in Latin script takes the adjectives of a masculine: "китайский Apple".
        gender = _gender(readings[0]) if readings else None if CYRILLIC_LETTER.search(words[head]) else "masc"
        for i in modifiers if gender else ():
            chosen = [p for p in parses[i] if p.tag.POS in ADJECTIVES and _agrees(p, case_of(p), "sing", gender)]
            _to_nominative(normal, i, max(chosen, key=lambda p: p.score, default=None), "sing")
        return normal
    if not is_known(parses[head]) and not looks_oblique(words[head]):
        # An unknown word that does not end like an oblique case is a name in the
        # nominative ("Тоттенхэм", "Бургас") more often than what pymorphy3 guesses for it.
        return list(words)
    if not is_known(parses[head]) and CONSONANT_LOCATIVE.search(words[head]):
        # An unknown place in the locative is a masculine name that ends in a consonant
        # ("в Тоттенхэме", "в Тусоне") more often than the feminine pymorphy3 guesses, but
        # for the feminine suffix of Russian villages ("в Тарасовке": "Тарасовка").
        feminine = FEMININE_PLACE_LOCATIVE.search(words[head]) is not None
        normal[head] = words[head][:-1] + ("а" if feminine else "")
        for i in modifiers:
            _to_nominative(normal, i, _agreeing(parses[i], "loct", "sing", "femn" if feminine else "masc"), "sing")
        return normal
    head_word = words[head].lower()
    if not is_known(parses[head]) and (head_word[-1:] in PLACE_INDECLINABLE_ENDINGS and not head_word.endswith("ии") or head_word.endswith("ье")):
        # An unknown name ending in -и, -о, -у ("Живерни", "Хабомаи") is a foreign one that
        # does not decline more often than an oblique form of a word pymorphy3 guesses.
        return normal
    best: Optional[Tuple[float, Parse, List[Optional[Parse]]]] = None
    for reading in parses[head]:
        tag = reading.tag
        if tag.case is None or tag.POS != "NOUN" and (tag.POS not in ADJECTIVES or not is_known(parses[head])):
            continue
        case = case_of(reading)
        chosen = [_agreeing(parses[i], case, tag.number, _gender(reading)) for i in modifiers]
        total = reading.score + sum(1.0 for p in chosen if p is not None)
        # A name is singular unless it only exists in the plural ("Афины", "Штаты").
        if tag.number == "sing" or "Pltm" in tag:
            total += 0.5
        if case == "nomn":
            total += weights.name_nominative_prior
        if case in context_cases:
            total += weights.context_bonus
        # A place or organisation read as a person's name is a guess of the last resort; as
        # the name of a place or organisation, the likeliest ("Хабаровском": "Хабаровск").
        if any(t in tag for t in NAME_TAGS):
            if tag.number == "plur" and "Pltm" not in tag:
                # People of one name ("Аин" as the genitive of "Аины") name no place.
                continue
            total -= 0.5
        if "Geox" in tag or "Orgn" in tag:
            total += 0.25
        if best is None or total > best[0]:
            best = (total, reading, chosen)
    if best is None or case_of(best[1]) == "nomn":
        return normal
    _, reading, chosen = best
    number = reading.tag.number or "sing"
    _to_nominative(normal, head, reading, number)
    for i, parse in zip(modifiers, chosen):
        _to_nominative(normal, i, parse, number)
    return normal


# Quotes between a preposition and a name ("в «Газпроме»") say nothing of its case.
QUOTES = frozenset("«»\"„“”'")
LIST_MARKERS = frozenset("•·▪‣◦")


def context_cases(preceding: Sequence[str], morph: Morphology, is_person: bool = False) -> FrozenSet[str]:
    """The cases a mention can be in, from the words right before it (nearest last): those a
    preposition governs ("у Джо Байдена"), those of an adjective it agrees with ("в московском
    Большом театре"), or, before a person, those of an animate noun in an oblique case it
    stands beside ("писателя Раймонда Чандлера", "президентом Эво Моралесом") and the
    genitive of a name that depends on it ("женой Моралеса"). Nothing where the word before
    says nothing, as a nominative noun does: "президент Путин", "жена Путина"."""
    words = [w for w in preceding if w not in QUOTES]
    if not words:
        return frozenset()
    word = words[-1]
    if word in LIST_MARKERS:
        # A list item names what it lists: "• Коффи Коджа (Бенин)".
        return frozenset({"nomn"})
    governed = PREPOSITION_CASES.get(word.lower())
    if governed is not None:
        return governed
    if is_person and len(words) > 1 and _is_genitive_name(word, morph):
        # A place or organisation the noun before depends on says nothing of the person's
        # case, the noun does: "премьером Австралии Тони Эбботом".
        return _animate_noun_cases(words[-2], morph)
    if not word.islower() or not CYRILLIC_WORD.match(word):
        return frozenset()
    parses = morph.parse(word)
    # A participle governs what follows it as often as it agrees with it ("составленный
    # Вилденштейном"): only an adjective counts.
    if parses and all(p.tag.POS == "ADJF" for p in parses):
        return frozenset(case for case in map(case_of, parses) if case is not None)
    return _animate_noun_cases(word, morph) if is_person else frozenset()


def _animate_noun_cases(word: str, morph: Morphology) -> FrozenSet[str]:
    """The cases of a lowercase animate noun in an oblique case, which a person's name beside it
    shares, and the genitive of a name that depends on it; nothing for a nominative noun."""
    if not word.islower() or not CYRILLIC_WORD.match(word):
        return frozenset()
    parses = morph.parse(word)
    nouns = [p for p in parses if p.tag.POS == "NOUN" and "anim" in p.tag]
    if parses and len(nouns) == len(parses) and all(case_of(p) != "nomn" for p in nouns):
        return frozenset(case for case in map(case_of, nouns) if case is not None) | {"gent"}
    return frozenset()


def _is_genitive_name(word: str, morph: Morphology) -> bool:
    """A capitalised name in the genitive, or an abbreviation ("Австралии", "КНР")."""
    if not word[:1].isupper() or not CYRILLIC_WORD.match(word):
        return False
    if len(word) > 1 and word.isupper():
        return True
    return any(case_of(p) == "gent" and ("Geox" in p.tag or "Orgn" in p.tag) for p in morph.parse(word.lower()))
