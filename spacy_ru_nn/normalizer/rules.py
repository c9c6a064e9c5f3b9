"""Normal forms of Russian names from pymorphy3's analyses: no spaCy here, only words.

A person's name parts are put in the nominative singular of the person's gender; the case and
gender are the ones most parts can share ("Клавдии Ивановны Петуховой" is one woman in the
genitive). A place or organisation is a head noun with the adjectives before it, which agree
with it and go into the nominative, and dependents after it, which stay as written ("мэрии
Москвы" -> "мэрия Москвы").
"""
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import pymorphy3
from pymorphy3.analyzer import Parse

CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct", "voct")
# The second genitive, accusative and locative ("в аэропорту") agree like the first ones.
CASE_OF = {"gen2": "gent", "acc2": "accs", "loc2": "loct", "gen1": "gent", "loc1": "loct"}
GENDERS = ("masc", "femn")
NAME_TAGS = ("Name", "Surn", "Patr")
ADJECTIVES = ("ADJF", "PRTF")
# Letters of a Cyrillic abbreviation followed by a case ending: "МИДа", "ГАБТом".
ABBREVIATION_ENDING = re.compile(r"^([А-ЯЁ]{2,})(а|у|ом|е|ой|ы|и|ов|ам|ами|ах)$")
# Foreign names that do not decline end in these vowels ("Пелоси", "Нисипяну", "Саломе").
INDECLINABLE_ENDINGS = frozenset("еиоуэю")
OBLIQUE_ENDINGS = tuple("аяыиеуюо") + ("ом", "ем", "ам", "ям", "ах", "ях", "ов", "ев", "ой", "ей")
ADJECTIVE_ENDINGS = ("ого", "его", "ому", "ему", "ую", "юю")
CYRILLIC_WORD = re.compile(r"^[а-яёА-ЯЁ]+(-[а-яёА-ЯЁ]+)*$")


# The cases a preposition governs: the case of a name right after it.
PREPOSITION_CASES: Dict[str, FrozenSet[str]] = {
    **{p: frozenset({"gent"}) for p in (
        "у", "от", "до", "из", "без", "для", "около", "после", "возле", "среди", "против",
        "кроме", "вокруг", "из-за", "из-под", "вместо", "мимо", "напротив", "ради", "со стороны",
    )},
    **{p: frozenset({"datv"}) for p in ("к", "ко", "по", "благодаря", "согласно", "вопреки")},
    **{p: frozenset({"loct"}) for p in ("о", "об", "обо", "при")},
    **{p: frozenset({"loct", "accs"}) for p in ("в", "во", "на")},
    **{p: frozenset({"ablt", "gent"}) for p in ("с", "со")},
    **{p: frozenset({"ablt", "accs"}) for p in ("за", "под", "подо")},
    **{p: frozenset({"ablt"}) for p in ("над", "перед", "между")},
    **{p: frozenset({"accs"}) for p in ("через", "про", "сквозь")},
}


@dataclass(frozen=True)
class Weights:
    """How much each kind of evidence counts when the readings of a mention compete.

    name_bonus: a reading as a first name, patronymic or surname over a common noun.
    nominative_prior: a person's mention in the nominative, as written.
    name_nominative_prior: the same for a place's or organisation's head.
    masculine_prior: a man rather than a woman, when nothing else tells.
    context_prior: a case the preposition before the mention governs, or the nominative of
        the gender a past-tense verb after it shows.
    unknown_as_written: a word pymorphy3 does not know, ending like a name that does not
        decline, read as written.
    """

    name_bonus: float = 0.5
    nominative_prior: float = 0.1
    name_nominative_prior: float = 0.3
    masculine_prior: float = 0.1
    context_prior: float = 0.5
    unknown_as_written: float = 1.0


@dataclass(frozen=True)
class Context:
    """What the words around a mention say about its case and gender."""

    cases: FrozenSet[str] = frozenset()
    verb_gender: Optional[str] = None

    def prior(self, gender: Optional[str], case: str) -> float:
        prior = 1.0 if case in self.cases else 0.0
        if self.verb_gender is not None and case == "nomn" and gender in (None, self.verb_gender):
            prior += 1.0
        return prior


def read_context(previous: Optional[str], following: Optional[str], morph: "Morphology") -> Context:
    """The preposition before a mention and the past-tense verb after it, if any."""
    cases = PREPOSITION_CASES.get(previous.lower(), frozenset()) if previous else frozenset()
    verb_gender = None
    if following and following.isalpha():
        top = morph.parse(following.lower())[0]
        if top.tag.POS == "VERB" and "past" in top.tag and top.tag.number == "sing":
            verb_gender = top.tag.gender
    return Context(cases, verb_gender)


class Morphology:
    """pymorphy3 with a cache of parses: entity words repeat across a corpus."""

    def __init__(self, cache_size: int = 100_000) -> None:
        self.analyzer = pymorphy3.MorphAnalyzer(lang="ru")
        self.parse = lru_cache(maxsize=cache_size)(self._parse)

    def _parse(self, word: str) -> Tuple[Parse, ...]:
        return tuple(self.analyzer.parse(word))


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


def same_word(a: str, b: str) -> bool:
    return a.lower().replace("ё", "е") == b.lower().replace("ё", "е")


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
    return any(len(p.methods_stack) == 1 and type(p.methods_stack[0][0]).__name__ == "DictionaryAnalyzer" for p in parses)


def inflect(parse: Parse, grammemes: Iterable[str]) -> Optional[str]:
    form = parse.inflect(set(grammemes))
    return form.word if form is not None else None


def _is_name_like(parse: Parse) -> bool:
    return any(t in parse.tag for t in NAME_TAGS) or parse.tag.POS in ADJECTIVES


def _person_fit(parse: Parse, gender: str, case: str, name_bonus: float) -> float:
    """How well one analysis fits a name part of a person of this gender in this case."""
    tag = parse.tag
    if tag.POS not in ("NOUN",) + ADJECTIVES:
        return 0.0
    if _is_name_like(parse):
        # First names, patronymics, -ов/-ин surnames and adjectival surnames carry the gender.
        if gender not in tag and "ms-f" not in tag and not (tag.POS in ADJECTIVES and tag.number == "plur"):
            return 0.0
    fit = parse.score + (name_bonus if _is_name_like(parse) else 0.0)
    if case_of(parse) != case:
        return 0.0
    if tag.number == "plur":
        # A singular person: a plural form is a misspelt or mistagged one, the last resort.
        fit *= 0.1
    if not _is_name_like(parse) and tag.gender is not None and gender not in tag:
        # A common noun of the other gender ("ангел" in "Ангелы Меркель") yields to a name.
        fit *= 0.5
    return fit


def normalize_person(
    words: Sequence[str],
    morph: Morphology,
    *,
    weights: "Weights" = None,  # type: ignore[assignment]
    context: "Context" = None,  # type: ignore[assignment]
) -> List[str]:
    """Each name part in the nominative singular of the gender and case the parts share.

    A word pymorphy3 does not know may be a foreign name that does not decline ("Пелоси"):
    reading it as written, in the nominative, competes with the guessed oblique readings.
    The words around the mention break ties: a preposition before it governs its case ("у
    Александра Дмитриева"), a past-tense verb after it agrees with it ("Евгения заявила").
    """
    weights = weights or Weights()
    context = context or Context()
    parses = [morph.parse(w) if is_declinable(w) else () for w in words]
    as_written = [
        weights.unknown_as_written if ps and not is_known(ps) and is_indeclinable_like(w) else 0.0
        for w, ps in zip(words, parses)
    ]

    def fit(ps: Sequence[Parse], written: float, gender: str, case: str) -> Tuple[float, Optional[Parse]]:
        best_fit = (written, None) if case == "nomn" and written else (0.0, None)
        for p in ps:
            f = _person_fit(p, gender, case, weights.name_bonus)
            if f > best_fit[0]:
                best_fit = (f, p)
        return best_fit

    best: Optional[Tuple[float, str, str]] = None
    for gender in GENDERS:
        for case in CASES:
            total = sum(fit(ps, w, gender, case)[0] for ps, w in zip(parses, as_written))
            total += weights.nominative_prior if case == "nomn" else 0.0
            total += weights.masculine_prior if gender == "masc" else 0.0
            total += weights.context_prior * context.prior(gender, case)
            if best is None or total > best[0]:
                best = (total, gender, case)
    assert best is not None
    _, gender, case = best
    normal = []
    for word, ps, w in zip(words, parses, as_written):
        score, parse = fit(ps, w, gender, case)
        if parse is None or score == 0.0 or "Fixd" in parse.tag:
            normal.append(strip_abbreviation_ending(word))
            continue
        if parse.tag.case == "nomn" and parse.tag.number == "sing":
            normal.append(word)
            continue
        wanted = {"nomn", "sing"}
        if _is_name_like(parse) and parse.tag.POS in ADJECTIVES:
            wanted.add(gender)
        form = inflect(parse, wanted) or inflect(parse, {"nomn"}) or parse.normal_form
        normal.append(restore_case(word, form))
    return normal


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


def _agrees_with_next(parses: Sequence[Sequence[Parse]], words: Sequence[str], i: int, morph: Morphology) -> bool:
    """Whether word i is an adjective that agrees with the next word that is not transparent."""
    j = i + 1
    while j < len(words) - 1 and _is_transparent(words[j]):
        j += 1
    following = parses[j]
    if not following and not is_declinable(words[j]):
        following = tuple(p for p in morph.parse(strip_abbreviation_ending(words[j]).lower()) if "Abbr" in p.tag)
        return any(p.tag.POS in ADJECTIVES and p.tag.number == "sing" and _agrees(p, case_of(p), "sing", following[0].tag.gender) for p in parses[i]) if following else False
    for p in parses[i]:
        if p.tag.POS not in ADJECTIVES:
            continue
        for q in following:
            gender = q.tag.gender if q.tag.gender in ("masc", "femn", "neut") else None
            if q.tag.number and _agrees(p, case_of(q), q.tag.number, gender):
                return True
    return False


def _is_transparent(word: str) -> bool:
    """Quotes, commas and "и" between agreeing adjectives ("Всемирной продовольственной и
    сельскохозяйственной организации")."""
    return word == "и" or not any(c.isalnum() for c in word)


def normalize_name(
    words: Sequence[str],
    morph: Morphology,
    *,
    weights: "Weights" = None,  # type: ignore[assignment]
    context: "Context" = None,  # type: ignore[assignment]
) -> List[str]:
    """A place or organisation: the head noun and the adjectives before it in the nominative,
    in the head's number; whatever follows the head stays as written."""
    weights = weights or Weights()
    context = context or Context()
    parses = [morph.parse(w) if is_declinable(w) else () for w in words]
    head = 0
    while head < len(words) - 1 and (
        _is_transparent(words[head]) or _agrees_with_next(parses, words, head, morph)
    ):
        head += 1
    while head > 0 and _is_transparent(words[head]):
        head -= 1
    modifiers = [i for i in range(head) if parses[i]]
    head_parses = parses[head]
    if not head_parses:
        # An abbreviation ("японского МИДа") or a foreign word: its gender, if pymorphy3
        # knows the abbreviation, still puts the adjectives before it in the nominative.
        stripped = strip_abbreviation_ending(words[head])
        head_parses = tuple(
            p for p in morph.parse(stripped.lower()) if "Abbr" in p.tag and p.tag.POS == "NOUN"
        ) if stripped != words[head] or stripped.isupper() else ()
        if not head_parses or not modifiers:
            return [stripped if i == head else w for i, w in enumerate(words)]
        normal = [stripped if i == head else w for i, w in enumerate(words)]
        for i in modifiers:
            agreeing = [p for p in parses[i] if p.tag.POS in ADJECTIVES and _agrees(p, case_of(p), "sing", head_parses[0].tag.gender)]
            parse = max(agreeing, key=lambda p: p.score, default=None)
            form = inflect(parse, {"nomn", "sing"}) if parse is not None and case_of(parse) != "nomn" else None
            if form is not None:
                normal[i] = restore_case(words[i], form)
        return normal
    if not is_known(head_parses) and not looks_oblique(words[head]):
        # An unknown word that does not end like an oblique case is a name in the
        # nominative ("Тоттенхэм", "Бургас") more often than what pymorphy3 guesses for it.
        return list(words)
    best: Optional[Tuple[float, Parse, List[Optional[Parse]]]] = None
    for head_parse in head_parses:
        tag = head_parse.tag
        if tag.POS not in ("NOUN",) + ADJECTIVES or tag.case is None:
            continue
        if tag.POS != "NOUN" and not is_known(head_parses):
            continue
        case = case_of(head_parse)
        gender = tag.gender if tag.gender in ("masc", "femn", "neut") else None
        chosen: List[Optional[Parse]] = []
        total = head_parse.score
        for i in modifiers:
            agreeing = [p for p in parses[i] if p.tag.POS in ADJECTIVES and _agrees(p, case, tag.number, gender)]
            chosen.append(max(agreeing, key=lambda p: p.score, default=None))
            total += 1.0 if agreeing else 0.0
        # A name is singular unless it only exists in the plural ("Афины", "Штаты").
        if tag.number == "sing" or "Pltm" in tag:
            total += 0.5
        if case == "nomn":
            total += weights.name_nominative_prior
        total += weights.context_prior * context.prior(None, case)
        # A place or organisation read as a person's name is a guess of the last resort.
        if any(t in tag for t in NAME_TAGS):
            total -= 0.5
        if best is None or total > best[0]:
            best = (total, head_parse, chosen)
    if best is None or case_of(best[1]) == "nomn" or not best[2] and modifiers:
        return [strip_abbreviation_ending(w) if i == head else w for i, w in enumerate(words)]
    _, head_parse, chosen = best
    number = head_parse.tag.number or "sing"
    normal = list(words)
    form = None if "Fixd" in head_parse.tag else inflect(head_parse, {"nomn", number}) or inflect(head_parse, {"nomn"})
    if form is not None:
        normal[head] = restore_case(words[head], form)
    for i, parse in zip(modifiers, chosen):
        if parse is not None:
            form = inflect(parse, {"nomn", number})
            if form is not None:
                normal[i] = restore_case(words[i], form)
    return normal
