"""The `entity_normalizer` component and the `Span._.normal` extension."""
from dataclasses import asdict
from functools import lru_cache
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span

from .rules import QUOTES, VOWELS, Morphology, Weights, context_cases, folded, nominative_candidates, normalize_name, normalize_person

# Where a computed normal form is kept: user_data survives DocBin and Doc.to_bytes.
USER_DATA_KEY = "ru_nn.normal"
# The words before a mention that may tell its case: a preposition, perhaps behind a quote.
CONTEXT_WINDOW = 2
# Conjunctions between names that share their case, and how many names a list may chain.
CONJUNCTIONS = frozenset({"и", "или"})
MAX_CONJUNCTS = 8

DEFAULT_NORMALIZER_CONFIG = {
    "labels": None,
    "person_labels": ["PER"],
    "spans_key": None,
    **asdict(Weights()),
}


class EntityNormalizer(Pipe):
    """Sets `span._.normal` on the entities (and on `doc.spans[spans_key]`): the name in the
    nominative, as a dictionary would list it, so that inflected mentions of one name meet."""

    def __init__(
        self,
        name: str = "entity_normalizer",
        *,
        labels: Optional[Sequence[str]] = None,
        person_labels: Sequence[str] = ("PER",),
        spans_key: Optional[str] = None,
        weights: Weights = Weights(),
    ) -> None:
        self.name = name
        self.normalized_labels = None if labels is None else list(labels)
        self.person_labels = list(person_labels)
        self.spans_key = spans_key
        self.weights = weights
        self.morph = Morphology()
        # News repeat their names: each distinct mention, in each context, is normalised once.
        self._normalize_words = lru_cache(maxsize=50_000)(self._normalize_words_uncached)
        self._context_cases = lru_cache(maxsize=50_000)(self._context_cases_uncached)
        self._nominative_candidates = lru_cache(maxsize=50_000)(self._nominative_candidates_uncached)
        set_normal_extension()

    def normalize(self, span: Span, entity_ends: Optional[Dict[int, Span]] = None) -> str:
        """The normal form of one span: a person's name or the name of anything else, in the
        case the words before it allow, or those before the entity it is coordinated with
        (`entity_ends`: the doc's entities by their end, computed if not given)."""
        words = tuple(token.text for token in span)
        is_person = span.label_ in self.person_labels
        if entity_ends is None:
            entity_ends = {ent.end: ent for ent in span.doc.ents}
        cases = self._span_context(span, is_person, entity_ends)
        return _with_spaces(self._normalize_words(words, is_person, self.weights, cases), span)

    def _span_context(self, span: Span, is_person: bool, entity_ends: Dict[int, Span]) -> FrozenSet[str]:
        """The cases the words before a span allow; coordinated names share a case, so after
        "и" those before the first of them: "между «Спартаком» и «Амкаром»"."""
        for _ in range(MAX_CONJUNCTS):
            previous = _coordinated_with(span, entity_ends)
            if previous is None:
                break
            span = previous
        return self._context_cases(_preceding(span), is_person)

    def _normalize_words_uncached(
        self,
        words: Tuple[str, ...],
        is_person: bool,
        weights: Weights,
        cases: FrozenSet[str],
        document_names: FrozenSet[str] = frozenset(),
    ) -> List[str]:
        if is_person:
            return normalize_person(words, self.morph, weights=weights, context_cases=cases, document_names=document_names)
        return normalize_name(words, self.morph, weights=weights, context_cases=cases)

    def _context_cases_uncached(self, preceding: Tuple[str, ...], is_person: bool) -> FrozenSet[str]:
        return context_cases(preceding, self.morph, is_person)

    def __call__(self, doc: Doc) -> Doc:
        spans: Iterable[Span] = doc.ents
        if self.spans_key is not None and self.spans_key in doc.spans:
            spans = list(doc.ents) + list(doc.spans[self.spans_key])
        spans = [s for s in spans if self.normalized_labels is None or s.label_ in self.normalized_labels]
        entity_ends = {ent.end: ent for ent in doc.ents}
        normals = [self.normalize(span, entity_ends) for span in spans]
        people = [i for i, span in enumerate(spans) if span.label_ in self.person_labels]
        # One-word mentions of people already in the nominative ("Донилон") name people.
        nominatives = {folded(normals[i]) for i in people if len(spans[i]) == 1 and spans[i].text == normals[i]}
        # A word of a fuller mention left as written yields to them: "Тони Донилона" is read
        # again with the readings that give "Донилон" preferred.
        for i in people:
            if len(spans[i]) > 1 and nominatives:
                normals[i] = self._agree_with_nominatives(spans[i], normals[i], nominatives, entity_ends)
        # A one-word mention of a person is ambiguous ("Медведева": him in the genitive, or
        # her); the document's fuller mentions of people tell which ("Дмитрий Медведев"), and
        # so do its one-word mentions that are already nominative ("Марк" for "Марку").
        full_names = {folded(word) for i in people if len(spans[i]) > 1 for word in normals[i].split()}
        # So for one-word names of anything else: "Росстата" is the document's "Росстат".
        named = {
            folded(span.text)
            for span, normal in zip(spans, normals)
            if span.label_ not in self.person_labels and len(span) == 1 and span.text == normal
        }
        for i, span in enumerate(spans):
            if len(span) != 1:
                continue
            if span.label_ in self.person_labels:
                # A mention does not vouch for itself.
                names = full_names | (nominatives - {folded(span.text)})
            else:
                names = named - {folded(span.text)}
            if names:
                normals[i] = self._agree_with_document(span[0].text, normals[i], names)
        stored: Dict[str, str] = doc.user_data.setdefault(USER_DATA_KEY, {})
        for span, normal in zip(spans, normals):
            stored[_span_key(span)] = normal
        return doc

    def _agree_with_document(self, word: str, normal: str, names: Set[str]) -> str:
        if folded(normal) in names:
            return normal
        if not _may_stand_for_any(word, names):
            return normal
        for candidate in self._nominative_candidates(word):
            if (candidate == word or _may_be_oblique_of(word, candidate)) and folded(candidate) in names:
                return candidate
        return normal

    def _agree_with_nominatives(
        self, span: Span, normal: str, nominatives: Set[str], entity_ends: Dict[int, Span]
    ) -> str:
        """The mention read again, its readings that give the document's one-word names
        preferred, where some word of it may stand for one of them."""
        words = tuple(token.text for token in span)
        names = frozenset(
            folded(candidate)
            for word in words
            if _may_stand_for_any(word, nominatives)
            for candidate in self._nominative_candidates(word)[1:]
            if _may_be_oblique_of(word, candidate) and folded(candidate) in nominatives
        )
        if not names:
            return normal
        cases = self._span_context(span, True, entity_ends)
        return _with_spaces(self._normalize_words(words, True, self.weights, cases, names), span)

    def clear_caches(self) -> None:
        """Forget every normalised mention and parsed word, as a freshly loaded pipeline has."""
        for cache in (self._normalize_words, self._context_cases, self._nominative_candidates, self.morph.parse):
            cache.cache_clear()

    def _nominative_candidates_uncached(self, word: str) -> Tuple[str, ...]:
        return tuple(nominative_candidates(word, self.morph))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        for doc in stream:
            yield self(doc)

    # Nothing is learnt: the knowledge is pymorphy3's dictionary, which the config names.
    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        return b""

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "EntityNormalizer":
        return self

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        return None

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "EntityNormalizer":
        return self


@Language.factory(
    "entity_normalizer",
    assigns=["span._.normal"],
    requires=["doc.ents"],
    default_config=DEFAULT_NORMALIZER_CONFIG,
)
def make_entity_normalizer(
    nlp: Language,
    name: str,
    labels: Optional[List[str]],
    person_labels: List[str],
    spans_key: Optional[str],
    name_bonus: float,
    nominative_prior: float,
    name_nominative_prior: float,
    masculine_prior: float,
    unknown_as_written: float,
    guessed_name_bonus: float,
    case_ending_as_written: float,
    surname_paradigm: float,
    consonant_stem: float,
    context_bonus: float,
    document_bonus: float,
) -> EntityNormalizer:
    """An entity normaliser for Russian: `span._.normal` of every entity.

    labels (Optional[List[str]]): The labels to normalise; None for all.
    person_labels (List[str]): Labels of people, normalised name part by name part; every
        other label is a place-like name with a head noun.
    spans_key (Optional[str]): Also normalise `doc.spans[spans_key]`.
    name_bonus ... context_bonus (float): How much each kind of evidence counts when the
        readings of a mention compete (`spacy_ru_nn.normalizer.rules.Weights`).
    """
    weights = Weights(
        name_bonus=name_bonus,
        nominative_prior=nominative_prior,
        name_nominative_prior=name_nominative_prior,
        masculine_prior=masculine_prior,
        unknown_as_written=unknown_as_written,
        guessed_name_bonus=guessed_name_bonus,
        case_ending_as_written=case_ending_as_written,
        surname_paradigm=surname_paradigm,
        consonant_stem=consonant_stem,
        context_bonus=context_bonus,
        document_bonus=document_bonus,
    )
    return EntityNormalizer(name, labels=labels, person_labels=person_labels, spans_key=spans_key, weights=weights)


def _with_spaces(words: Sequence[str], span: Span) -> str:
    """One word per token of the span, with the span's own whitespace between them."""
    return "".join(word + token.whitespace_ for word, token in zip(words, span)).strip()


def _preceding(span: Span) -> Tuple[str, ...]:
    doc = span.doc
    return tuple(doc[i].text for i in range(max(0, span.start - CONTEXT_WINDOW), span.start))


def _coordinated_with(span: Span, entity_ends: Dict[int, Span]) -> Optional[Span]:
    """The entity right before the conjunction that opens this span, quotes aside."""
    doc = span.doc
    i = _before_quotes(doc, span.start - 1)
    if i < 0 or doc[i].lower_ not in CONJUNCTIONS:
        return None
    return entity_ends.get(_before_quotes(doc, i - 1) + 1)


def _before_quotes(doc: Doc, i: int) -> int:
    """The index of the last token at or before i that is not a quote (-1 if none)."""
    while i >= 0 and doc[i].text in QUOTES:
        i -= 1
    return i


def _may_stand_for_any(word: str, names: Set[str]) -> bool:
    """Whether any of these names may be a nominative of the word, as far as its first letter
    and length tell: the cheap test before the word's readings are all inflected."""
    word = folded(word)
    return any(name[:1] == word[:1] and len(name) <= len(word) for name in names)


def _may_be_oblique_of(word: str, nominative: str) -> bool:
    """Whether a word may be an oblique form of this nominative by length: an ending added
    ("Донилона" of "Донилон") or a vowel for a vowel ("Дерипаске" of "Дерипаска"), not the
    other way round ("Климкин" is no form of a woman's "Климкина", "Гелетей" of "Гелетея")."""
    return len(nominative) < len(word) or len(nominative) == len(word) and word[-1:].lower() in VOWELS


def _span_key(span: Span) -> str:
    return f"{span.start_char}:{span.end_char}:{span.label_}"


_default_normalizer: Optional[EntityNormalizer] = None


def normalize_span(span: Span) -> str:
    """The normal form of any span, with the default settings (PER is a person): what
    `span._.normal` gives for a span no entity_normalizer saw."""
    global _default_normalizer
    if _default_normalizer is None:
        _default_normalizer = EntityNormalizer()
    return _default_normalizer.normalize(span)


def stored_normal(span: Span) -> Optional[str]:
    """The normal form a component set on this span, if any (nothing is computed)."""
    return span.doc.user_data.get(USER_DATA_KEY, {}).get(_span_key(span))


def normal_field(span: Span) -> Dict[str, str]:
    """{"normal": ...} for an output record, when a component set the span's normal form."""
    normal = stored_normal(span)
    return {} if normal is None else {"normal": normal}


def _get_normal(span: Span) -> str:
    return stored_normal(span) or normalize_span(span)


def _set_normal(span: Span, value: str) -> None:
    span.doc.user_data.setdefault(USER_DATA_KEY, {})[_span_key(span)] = value


def set_normal_extension(getter: Callable[[Span], str] = _get_normal) -> None:
    """`Span._.normal`: the value the component stored, or computed on demand for any span."""
    if not Span.has_extension("normal"):
        Span.set_extension("normal", getter=getter, setter=_set_normal)


set_normal_extension()
