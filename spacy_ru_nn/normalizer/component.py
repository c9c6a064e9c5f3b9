"""The `entity_normalizer` component and the `Span._.normal` extension."""
from dataclasses import asdict
from functools import lru_cache
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Span

from .rules import Morphology, Weights, nominative_candidates, normalize_name, normalize_person

# Where a computed normal form is kept: user_data survives DocBin and Doc.to_bytes.
USER_DATA_KEY = "ru_nn.normal"

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
        # News repeat their names: each distinct mention is normalised once.
        self._normalize_words = lru_cache(maxsize=50_000)(self._normalize_words_uncached)
        self._nominative_candidates = lru_cache(maxsize=50_000)(self._nominative_candidates_uncached)
        set_normal_extension()

    def normalize(self, span: Span) -> str:
        """The normal form of one span: a person's name or the name of anything else."""
        words = tuple(token.text for token in span)
        normal = self._normalize_words(words, span.label_ in self.person_labels, self.weights)
        return "".join(word + token.whitespace_ for word, token in zip(normal, span)).strip()

    def _normalize_words_uncached(self, words: Tuple[str, ...], is_person: bool, weights: Weights) -> List[str]:
        if is_person:
            return normalize_person(words, self.morph, weights=weights)
        return normalize_name(words, self.morph, weights=weights)

    def __call__(self, doc: Doc) -> Doc:
        spans: Iterable[Span] = doc.ents
        if self.spans_key is not None and self.spans_key in doc.spans:
            spans = list(doc.ents) + list(doc.spans[self.spans_key])
        spans = [s for s in spans if self.normalized_labels is None or s.label_ in self.normalized_labels]
        normals = [self.normalize(span) for span in spans]
        # A one-word mention of a person is ambiguous ("Медведева": him in the genitive, or
        # her); the document's fuller mentions of people tell which ("Дмитрий Медведев"), and
        # so do its one-word mentions that are already nominative ("Марк" for "Марку").
        people = [(span, normal) for span, normal in zip(spans, normals) if span.label_ in self.person_labels]
        full_names = {_folded(word) for span, normal in people if len(span) > 1 for word in normal.split()}
        nominatives = {_folded(normal) for span, normal in people if len(span) == 1 and span.text == normal}
        for i, span in enumerate(spans):
            if span.label_ in self.person_labels and len(span) == 1:
                # A mention does not vouch for itself.
                names = full_names | (nominatives - {_folded(span.text)})
                if names:
                    normals[i] = self._agree_with_document(span[0].text, normals[i], names)
        stored: Dict[str, str] = doc.user_data.setdefault(USER_DATA_KEY, {})
        for span, normal in zip(spans, normals):
            stored[_span_key(span)] = normal
        return doc

    def _agree_with_document(self, word: str, normal: str, names: Set[str]) -> str:
        if _folded(normal) in names:
            return normal
        for candidate in self._nominative_candidates(word):
            if _folded(candidate) in names:
                return candidate
        return normal

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
) -> EntityNormalizer:
    """An entity normaliser for Russian: `span._.normal` of every entity.

    labels (Optional[List[str]]): The labels to normalise; None for all.
    person_labels (List[str]): Labels of people, normalised name part by name part; every
        other label is a place-like name with a head noun.
    spans_key (Optional[str]): Also normalise `doc.spans[spans_key]`.
    name_bonus ... unknown_as_written (float): How much each kind of evidence counts when the
        readings of a mention compete (`spacy_ru_nn.normalizer.rules.Weights`).
    """
    weights = Weights(
        name_bonus=name_bonus,
        nominative_prior=nominative_prior,
        name_nominative_prior=name_nominative_prior,
        masculine_prior=masculine_prior,
        unknown_as_written=unknown_as_written,
    )
    return EntityNormalizer(name, labels=labels, person_labels=person_labels, spans_key=spans_key, weights=weights)


def _folded(word: str) -> str:
    return word.lower().replace("ё", "е")


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
