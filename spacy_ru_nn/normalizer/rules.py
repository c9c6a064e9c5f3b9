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
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

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
# Letters of a Cyrillic abbreviation followed by a case ending: "МИДа", "ГАБТом", "АвтоВАЗа".
ABBREVIATION_ENDING = re.compile(r"^([А-ЯЁа-яё]*[А-ЯЁ]{2,})(а|у|ом|е|ой|ы|и|ов|ам|ами|ах)$")
# Foreign names that do not decline end in these vowels ("Пелоси", "Нисипяну", "Саломе").
INDECLINABLE_ENDINGS = frozenset("еиоуэю")
# Endings of the oblique cases: an unknown place name ending otherwise is read as written.
OBLIQUE_ENDINGS = tuple("аяыиеуюо") + ("ом", "ем", "ам", "ям", "ах", "ях", "ов", "ев", "ой", "ей")
# Case endings of a man's name that ends in a consonant: "Данна", "Данну", "Данном", "Данне".
STEM_ENDINGS = ("ом", "ем", "а", "я", "у", "ю", "е")
# A consonant and the locative ending: "Тоттенхэме", not "Вейк-ан-Зее".
CONSONANT_LOCATIVE = re.compile(r"[бвгджзклмнпрстфхцчшщ]е$", re.IGNORECASE)
# Adjectives used as nouns: the head of what follows them ("сборной России").
NOUN_ADJECTIVES = frozenset({"сборный", "набережный", "приёмный"})
# The endings of a man's name that ends in a consonant or -й, by case: (ending, the letters
# the stem may end in, what the nominative adds to the stem).
HARD = "бвгдзклмнпрстфх"
HUSHING = "жцчшщ"
VOWELS = "аеёиоуыэюя"
MASCULINE_ENDINGS = {
    "gent": (("а", HARD + HUSHING, ""), ("я", VOWELS, "й")),
    "accs": (("а", HARD + HUSHING, ""), ("я", VOWELS, "й")),
    "datv": (("у", HARD + HUSHING, ""), ("ю", VOWELS, "й")),
    "ablt": (("ом", HARD, ""), ("ем", HUSHING, ""), ("ем", VOWELS, "й")),
    "loct": (("е", HARD + HUSHING, ""),),
}
ADJECTIVE_ENDINGS = ("ого", "его", "ому", "ему", "ую", "юю")
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
    """

    name_bonus: float = 0.5
    nominative_prior: float = 0.1
    name_nominative_prior: float = 0.1
    masculine_prior: float = 0.1
    unknown_as_written: float = 1.0


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
    forms = [form] + [f for f in parse.lexeme if _same_slot(f.tag, form.tag)]
    return max(forms, key=lambda f: _common_prefix(f.word, parse.word)).word


def _same_slot(a: OpencorporaTag, b: OpencorporaTag) -> bool:
    return (a.POS, a.case, a.number, a.gender, a.animacy) == (b.POS, b.case, b.number, b.gender, b.animacy)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _is_name_like(parse: Parse) -> bool:
    return any(t in parse.tag for t in NAME_TAGS) or parse.tag.POS in ADJECTIVES


def _person_fit(parse: Parse, gender: str, case: str, name_bonus: float, guessed: bool = False) -> float:
    """How well one analysis fits a name part of a person of this gender in this case."""
    tag = parse.tag
    if tag.POS not in ("NOUN",) + ADJECTIVES:
        return 0.0
    if _is_name_like(parse) and not (guessed and tag.POS == "NOUN"):
        # First names, patronymics, -ов/-ин surnames and adjectival surnames carry the gender;
        # a guessed name's gender is its ending's, and a man's name may end in -а ("Соланы").
        if gender not in tag and "ms-f" not in tag and not (tag.POS in ADJECTIVES and tag.number == "plur"):
            return 0.0
    fit = parse.score + (name_bonus if _is_name_like(parse) else 0.0)
    if case_of(parse) != case:
        return 0.0
    if tag.number == "plur":
        # A singular person: a plural form is a misspelt or mistagged one, the last resort.
        fit *= 0.1
    if not _is_name_like(parse) and tag.gender is not None and gender not in tag and not guessed:
        # A common noun of the other gender ("ангел" in "Ангелы Меркель") yields to a name;
        # a guessed word's gender is only its ending's: a man's "Маехары" is a "Маехара".
        fit *= 0.5
    return fit


def _as_written_fit(word: str, parses: Sequence[Parse], weights: Weights) -> float:
    """How well an unknown word fits as written, in the nominative: fully where it ends like
    a name that does not decline, half where it ends in -а/-я like "Ларрионда", which is as
    likely a nominative as the genitive pymorphy3 guesses."""
    if not parses or is_known(parses):
        return 0.0
    if is_indeclinable_like(word):
        return weights.unknown_as_written
    return weights.unknown_as_written / 2 if word[-1:].lower() in "ая" else 0.0


NO_FIT: Tuple[float, Optional[Parse]] = (0.0, None)


def _is_possessive(parse: Optional[Parse]) -> bool:
    return parse is not None and "Poss" in parse.tag


def _fit_table(
    parses: Sequence[Parse], as_written: float, name_bonus: float
) -> Dict[Tuple[str, str], Tuple[float, Optional[Parse]]]:
    """(gender, case) -> the best fit of one word as a name part and the reading that gives
    it; None for the word read as written."""
    table: Dict[Tuple[str, str], Tuple[float, Optional[Parse]]] = {}
    if as_written:
        # A name pymorphy3 guesses does not decline ("Сейджи") is as written in every case.
        cases = CASES if any("Fixd" in p.tag for p in parses) else ("nomn",)
        table.update({(gender, case): (as_written, None) for gender in GENDERS for case in cases})
    guessed = not is_known(parses)
    for parse in parses:
        case = case_of(parse)
        for gender in GENDERS:
            fit = _person_fit(parse, gender, case, name_bonus, guessed)
            held, held_parse = table.get((gender, case), NO_FIT)
            # At a tie, an unknown surname in -ов/-ин declines as a possessive ("Тимаковой"
            # of "Тимакова"), not as a qualitative adjective ("Тимаковая").
            if fit > held or guessed and fit == held > 0 and _is_possessive(parse) and not _is_possessive(held_parse):
                table[(gender, case)] = (fit, parse)
    return table


def normalize_person(
    words: Sequence[str],
    morph: Morphology,
    *,
    weights: Optional[Weights] = None,
) -> List[str]:
    """Each name part in the nominative singular of the gender and case the parts share.

    A word pymorphy3 does not know may be a foreign name that does not decline ("Пелоси"):
    reading it as written, in the nominative, competes with the guessed oblique readings.
    """
    weights = weights or Weights()
    # Lowercase words in a name are particles that do not decline ("ибн", "де", "аль-").
    parses = [morph.parse(w) if is_declinable(w) and not w[:1].islower() else () for w in words]
    as_written = [_as_written_fit(w, ps, weights) for w, ps in zip(words, parses)]

    tables = [_fit_table(ps, w, weights.name_bonus) for ps, w in zip(parses, as_written)]
    best: Optional[Tuple[float, str, str]] = None
    for gender in GENDERS:
        for case in CASES:
            total = sum(table.get((gender, case), NO_FIT)[0] for table in tables)
            total += weights.nominative_prior if case == "nomn" else 0.0
            total += weights.masculine_prior if gender == "masc" else 0.0
            if best is None or total > best[0]:
                best = (total, gender, case)
    assert best is not None
    _, gender, case = best
    normal = []
    for word, table in zip(words, tables):
        score, parse = table.get((gender, case), NO_FIT)
        if score == 0.0 and gender == "masc" and _masculine_stem(word, case):
            # A man's surname pymorphy3 knows only as something else ("Брэда Питта") in
            # the case the other parts share: the ending goes, as for any consonant stem.
            normal.append(_masculine_stem(word, case))
            continue
        if parse is None or score == 0.0 or "Fixd" in parse.tag:
            normal.append(strip_abbreviation_ending(word))
            continue
        if parse.tag.case == "nomn" and parse.tag.number == "sing":
            normal.append(word)
            continue
        if parse.tag.number == "plur" and _reads_as_nominative(word, morph):
            # A plural reading is the last resort; a word that is also a nominative singular
            # is a surname that does not decline, as a woman's "Стингрей" in "Джоанны Стингрей".
            normal.append(word)
            continue
        wanted = {"nomn", "sing"}
        if _is_name_like(parse) and parse.tag.POS in ADJECTIVES:
            wanted.add(gender)
        form = inflect(parse, wanted) or inflect(parse, {"nomn"}) or parse.normal_form
        normal.append(restore_case(word, form))
    return normal


def _masculine_stem(word: str, case: str) -> Optional[str]:
    """The nominative of a man's name ending in a consonant or -й, from its ending in this
    case: "Питта" -> "Питт", "Бушем" -> "Буш", "Карзая" -> "Карзай"."""
    if not is_declinable(word) or word[:1].islower():
        return None
    for ending, after, added in MASCULINE_ENDINGS.get(case, ()):
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 3 and stem[-1].lower() in after:
            return stem + added
    return None


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
    """Whether word i is an adjective that agrees with the next word that is not transparent."""
    j = i + 1
    while j < len(words) - 1 and _is_transparent(words[j]):
        j += 1
    adjectives = [p for p in parses[i] if p.tag.POS in ADJECTIVES and p.normal_form not in NOUN_ADJECTIVES]
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
    return head


def _agreeing(parses: Sequence[Parse], case: str, number: str, gender: Optional[str]) -> Optional[Parse]:
    """The likeliest adjective reading that agrees with a head in this case, number and gender."""
    agreeing = [p for p in parses if p.tag.POS in ADJECTIVES and _agrees(p, case, number, gender)]
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
) -> List[str]:
    """A place or organisation: the head noun and the adjectives before it in the nominative,
    in the head's number; whatever follows the head stays as written."""
    weights = weights or Weights()
    parses = [morph.parse(w) if is_declinable(w) else () for w in words]
    head = _find_head(words, parses, morph)
    modifiers = [i for i in range(head) if parses[i]]
    normal = [strip_abbreviation_ending(w) if i == head else w for i, w in enumerate(words)]
    if not parses[head]:
        # An abbreviation ("японского МИДа") or a foreign word: its gender, if pymorphy3
        # knows the abbreviation, still puts the adjectives before it in the nominative.
        readings = _abbreviation_readings(words[head], morph)
        for i in modifiers if readings else ():
            chosen = [p for p in parses[i] if p.tag.POS in ADJECTIVES and _agrees(p, case_of(p), "sing", _gender(readings[0]))]
            _to_nominative(normal, i, max(chosen, key=lambda p: p.score, default=None), "sing")
        return normal
    if not is_known(parses[head]) and not looks_oblique(words[head]):
        # An unknown word that does not end like an oblique case is a name in the
        # nominative ("Тоттенхэм", "Бургас") more often than what pymorphy3 guesses for it.
        return list(words)
    if not is_known(parses[head]) and CONSONANT_LOCATIVE.search(words[head]):
        # An unknown place in the locative is a masculine name that ends in a consonant
        # ("в Тоттенхэме", "в Тусоне") more often than the feminine pymorphy3 guesses.
        normal[head] = words[head][:-1]
        for i in modifiers:
            _to_nominative(normal, i, _agreeing(parses[i], "loct", "sing", "masc"), "sing")
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
        # A place or organisation read as a person's name is a guess of the last resort.
        if any(t in tag for t in NAME_TAGS):
            total -= 0.5
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
