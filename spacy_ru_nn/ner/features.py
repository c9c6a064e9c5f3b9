"""Doc -> integer and float feature arrays for the NER's token embedding (no parameters, no gradient).

All per-token work is numpy over the whole batch; the only Python loop runs over the batch's
*distinct* words that are not cached yet (characters and pymorphy analyses).
"""
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import LOWER, ORTH, SENT_START, intify_attr
from spacy.strings import hash_string
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d, Ints1d, Ints2d, Ints3d

from ..lexemes import LEXEME_ATTRS
from .slovnet import shape_id

# pymorphy3 grammemes (OpenCorpora tagset) that carry signal for names, places and
# organisations: part of speech, case, number, gender and the name-like lexical marks.
GRAMMEMES: Tuple[str, ...] = (
    "NOUN", "ADJF", "ADJS", "COMP", "VERB", "INFN", "PRTF", "PRTS", "GRND", "NUMR", "ADVB",
    "NPRO", "PRED", "PREP", "CONJ", "PRCL", "INTJ",
    "nomn", "gent", "datv", "accs", "ablt", "loct", "voct", "gen2", "acc2", "loc2",
    "sing", "plur", "masc", "femn", "neut", "ms-f", "anim", "inan", "Sgtm", "Pltm", "Fixd",
    "Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr", "Init", "Apro", "Qual", "Infr",
    "Slng", "Arch", "Litr", "Erro", "Dist",
    "LATN", "PNCT", "NUMB", "intg", "real", "ROMN", "UNKN",
)  # fmt: skip


@dataclass
class TokenFeatures:
    """Features of every token in a batch, flat in document order.

    Everything that depends on the word alone is stored once per distinct word ("row"): a
    distinct word form, or a distinct (attributes, word) combination where `attrs` include one
    that is not the lexeme's (NORM, SENT_START, ...).
    """

    hash_ids: Ints3d  # (n_words, n_attrs, 4) bucket ids, one bloom-embedding bag per attr
    word_index: Ints1d  # (n_tokens,) row of each token's word in the per-word arrays
    char_ids: Optional[Ints2d]  # (n_words, max_chars), 0 pads
    morph: Optional[Floats2d]  # (n_words, n_lexical) grammeme weights, then gazetteer flags
    vector_keys: Ints1d  # (n_words,) int64 view of each word's LOWER hash, for the vector table
    shape_ids: Optional[Ints1d]  # (n_words,) slovnet token shape ids, for its pretrained encoders
    seq_lengths: Ints1d  # lengths of the sequences the BiLSTM reads (docs cut into windows)
    context_lengths: Optional[Ints1d]  # sequences the pretrained encoders read: whole docs, cut into windows
    doc_lengths: List[int]

    @property
    def n_tokens(self) -> int:
        return int(self.word_index.shape[0])


@lru_cache(maxsize=1)
def get_morph_analyzer():
    """One pymorphy3 analyzer per process: its dictionaries are slow to load."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


class WordCache:
    """Per-word features keyed by ORTH, bounded so a stream of unique junk cannot grow it forever."""

    def __init__(self, compute: Callable[[str], numpy.ndarray], max_size: int = 200_000) -> None:
        self.compute = compute
        self.max_size = max_size
        self.table: Dict[int, numpy.ndarray] = {}

    def lookup(self, orths: numpy.ndarray, strings) -> numpy.ndarray:
        if len(self.table) > self.max_size:
            self.table.clear()
        rows = []
        for orth in orths.tolist():
            row = self.table.get(orth)
            if row is None:
                row = self.table[orth] = self.compute(strings[orth])
            rows.append(row)
        return numpy.stack(rows)


def char_ids(word: str, n_chars: int, max_chars: int) -> numpy.ndarray:
    """Code points folded into [1, n_chars); long words keep their start and their ending."""
    codes = numpy.frombuffer(word.encode("utf-32-le"), dtype=numpy.uint32).astype(numpy.int64)
    if len(codes) > max_chars:
        head = max_chars // 2
        codes = numpy.concatenate([codes[:head], codes[len(codes) - (max_chars - head) :]])
    out = numpy.zeros(max_chars, dtype=numpy.int64)
    out[: len(codes)] = codes % (n_chars - 1) + 1
    return out


def shape_id_array(word: str) -> numpy.ndarray:
    """slovnet's shape id of a word, as WordCache stores it."""
    return numpy.asarray(shape_id(word), dtype=numpy.int64)


def grammeme_vector(parses) -> numpy.ndarray:
    """Grammemes of all pymorphy3 analyses of a word, weighted by the analyses' scores."""
    vector = numpy.zeros(len(GRAMMEMES), dtype=numpy.float32)
    for parse in parses:
        vector[_tag_columns(str(parse.tag))] += parse.score
    return numpy.minimum(vector, 1.0)


@lru_cache(maxsize=None)
def _tag_columns(tag: str) -> numpy.ndarray:
    """Columns of GRAMMEMES set by a pymorphy3 tag; there are a few thousand distinct tags."""
    index = _grammeme_index()
    grammemes = tag.replace(" ", ",").split(",")
    return numpy.asarray([index[g] for g in grammemes if g in index], dtype=numpy.int64)


# natasha's name lists, usable by name in `gazetteers`; anything else is a path.
NATASHA_GAZETTEERS = {"first": "FIRST", "last": "LAST", "maybe_first": "MAYBE_FIRST"}


def read_gazetteer(source: str) -> List[str]:
    """Lowercased entries of one of natasha's name lists ('first', 'last', 'maybe_first'), or of
    a UTF-8 file with one entry per line, where '#' starts a comment."""
    if source in NATASHA_GAZETTEERS:
        import natasha.data

        path = Path(getattr(natasha.data, NATASHA_GAZETTEERS[source]))
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(
                f"Gazetteer {source!r} is neither one of natasha's lists "
                f"({', '.join(NATASHA_GAZETTEERS)}) nor a file"
            )
    entries = {line.split("#", 1)[0].strip().lower() for line in path.read_text("utf8").splitlines()}
    entries.discard("")
    if not entries:
        raise ValueError(f"Gazetteer {source!r} ({path}) has no entries")
    return sorted(entries)


class LexicalFeatures:
    """Per-word dense features: pymorphy3 grammeme weights, then one flag per gazetteer.

    A word is in a gazetteer when its lowercase form or one of its pymorphy3 lemmas is, so
    "Пушкина" finds "пушкин" in a list of surnames.
    """

    def __init__(self, use_morphology: bool, gazetteers: Sequence[Sequence[str]]) -> None:
        self.use_morphology = use_morphology
        self.gazetteers = [frozenset(entries) for entries in gazetteers]

    def __call__(self, word: str) -> numpy.ndarray:
        parses = get_morph_analyzer().parse(word)
        parts = []
        if self.use_morphology:
            parts.append(grammeme_vector(parses))
        if self.gazetteers:
            forms = {word.lower(), *(p.normal_form for p in parses)}
            flags = [not forms.isdisjoint(entries) for entries in self.gazetteers]
            parts.append(numpy.asarray(flags, dtype=numpy.float32))
        return dequantize(quantize(numpy.concatenate(parts)))


def quantize(features: numpy.ndarray) -> numpy.ndarray:
    """Lexical features in [0, 1] as bytes: the precomputed lexicon stores them this way, and
    words computed on the fly are rounded the same, so both paths give equal features."""
    return numpy.round(features * 255).astype(numpy.uint8)


def dequantize(codes: numpy.ndarray) -> numpy.ndarray:
    return codes.astype(numpy.float32) / numpy.float32(255)


def build_lexicon(featurizer: "TokenFeaturizer", words: Sequence[str]) -> None:
    """Precompute the lexical features of `words` (the vector table's vocabulary) and store
    them in the featurizer, so that pymorphy3 runs only for words outside it.

    Features of longer words depend on the lowercase form only (pymorphy3 lowercases), so rows
    are keyed by spaCy's LOWER hash. Distinct rows are stored once: 250K words share ~29K rows.
    """
    featurizer.attrs["lexicon_keys"] = featurizer.attrs["lexicon_index"] = featurizer.attrs["lexicon_table"] = None
    # pymorphy3 reads an upper-case single letter as an initial (Init, Name, Patr): those are
    # the only words whose features depend on case, so they are always analysed on the fly.
    words = sorted({word.lower() for word in words if len(word) > 1})
    if not words or not n_lexical_features(featurizer.attrs["use_morphology"], featurizer.attrs["gazetteer_sources"]):
        return
    compute = featurizer.lexical_cache().compute
    codes = numpy.stack([quantize(compute(word)) for word in words])
    table, index = numpy.unique(codes, axis=0, return_inverse=True)
    keys = numpy.fromiter((hash_string(word) for word in words), dtype=numpy.uint64, count=len(words))
    order = numpy.argsort(keys)
    featurizer.attrs["lexicon_keys"] = keys[order]
    index_type = numpy.uint16 if len(table) <= numpy.iinfo(numpy.uint16).max else numpy.uint32
    featurizer.attrs["lexicon_index"] = index.reshape(-1)[order].astype(index_type)
    featurizer.attrs["lexicon_table"] = table


def lexical_features(model: "TokenFeaturizer", orths: numpy.ndarray, lowers: numpy.ndarray, strings) -> numpy.ndarray:
    """Lexical features per distinct word: from the lexicon where it has the word, else computed."""
    keys = model.attrs["lexicon_keys"]
    if keys is None or not len(keys):
        return model.lexical_cache().lookup(orths, strings)
    rows = numpy.searchsorted(keys, lowers).clip(max=len(keys) - 1)
    found = keys[rows] == lowers
    features = numpy.empty((len(orths), model.attrs["lexicon_table"].shape[1]), dtype=numpy.float32)
    features[found] = dequantize(model.attrs["lexicon_table"][model.attrs["lexicon_index"][rows[found]]])
    if not found.all():
        features[~found] = model.lexical_cache().lookup(orths[~found], strings)
    return features


@lru_cache(maxsize=1)
def _grammeme_index() -> Dict[str, int]:
    return {g: i for i, g in enumerate(GRAMMEMES)}


def sequence_lengths(docs: Sequence[Doc], window: int, by_sentence: bool = True) -> numpy.ndarray:
    """Cut each doc into the sequences the BiLSTM reads.

    Sentences when the doc has them (a sentence splitter before the tagger, or gold
    boundaries) and `by_sentence`, which keeps the recurrence short and batches wide; then no
    piece is longer than `window` tokens, which bounds memory on huge documents.
    """
    lengths: List[int] = []
    for doc in docs:
        n = len(doc)
        if not n:
            continue
        if by_sentence and doc.has_annotation("SENT_START"):
            starts = numpy.flatnonzero(doc.to_array(SENT_START).astype(numpy.int64) == 1)
            bounds = numpy.concatenate([[0], starts[starts > 0], [n]])
            pieces = numpy.diff(bounds).tolist()
        else:
            pieces = [n]
        for piece in pieces:
            full, rest = divmod(piece, window)
            lengths.extend([window] * full)
            if rest:
                lengths.append(rest)
    return numpy.asarray(lengths, dtype=numpy.int64)


class TokenFeaturizer(Model[List[Doc], TokenFeatures]):
    """Featurize docs for the token embedding. Gazetteer entries are read by `load_gazetteers`
    at initialize and saved with the model, so a packaged pipeline needs no list on disk.

    The settings and the data that must persist (gazetteer entries, the lexicon's arrays) are
    attrs, which thinc saves. The per-word caches are plain attributes: they hold functions,
    which thinc would silently leave out when saving, and a loaded model rebuilds them.
    """

    def __init__(
        self,
        attrs: Sequence[str],
        rows: Sequence[int],
        *,
        n_chars: int,
        max_chars: int,
        use_chars: bool,
        use_morphology: bool,
        gazetteers: Sequence[str] = (),
        use_lexicon: bool = False,
        use_shapes: bool = False,
        window: int,
    ) -> None:
        if len(attrs) != len(rows):
            raise ValueError(f"attrs ({len(attrs)}) and rows ({len(rows)}) must have the same length")
        if window < 1:
            raise ValueError(f"window must be a positive number of tokens, got {window}")
        super().__init__(
            "token_featurizer",
            featurize_forward,
            attrs={
                "attr_ids": [intify_attr(a) for a in attrs],
                "rows": list(rows),
                "n_chars": n_chars,
                "max_chars": max_chars,
                "use_chars": use_chars,
                "use_morphology": use_morphology,
                "gazetteer_sources": list(gazetteers),
                "use_lexicon": use_lexicon,
                "gazetteer_entries": None,
                "window": window,
                "use_shapes": use_shapes,
                "lexicon_keys": None,
                "lexicon_index": None,
                "lexicon_table": None,
            },
        )
        self.char_cache = WordCache(partial(char_ids, n_chars=n_chars, max_chars=max_chars))
        self.shape_cache = WordCache(shape_id_array)
        # The lexical cache and the gazetteer entries it was built from.
        self._lexical: Optional[Tuple[Optional[List[List[str]]], WordCache]] = None

    @property
    def n_lexical(self) -> int:
        """Columns of the lexical features: grammemes, then one flag per gazetteer."""
        return n_lexical_features(self.attrs["use_morphology"], self.attrs["gazetteer_sources"])

    def lexical_cache(self) -> WordCache:
        """The per-word cache of lexical features, rebuilt whenever the gazetteer entries were
        replaced (initialize, loading)."""
        entries = self.attrs["gazetteer_entries"]
        if self._lexical is not None and self._lexical[0] is entries:
            return self._lexical[1]
        if entries is None and self.attrs["gazetteer_sources"]:
            raise ValueError(
                f"The gazetteers {self.attrs['gazetteer_sources']} have not been read: "
                "initialize the pipeline (nlp.initialize) before using it"
            )
        cache = WordCache(LexicalFeatures(self.attrs["use_morphology"], entries or []))
        self._lexical = (entries, cache)
        return cache


def load_gazetteers(featurizer: Model) -> None:
    """Read the configured gazetteers into the featurizer (they are saved with the model)."""
    sources = featurizer.attrs["gazetteer_sources"]
    featurizer.attrs["gazetteer_entries"] = [read_gazetteer(source) for source in sources]


def n_lexical_features(use_morphology: bool, gazetteers: Sequence[str]) -> int:
    return len(GRAMMEMES) * use_morphology + len(gazetteers)


def featurize_forward(
    model: TokenFeaturizer, docs: List[Doc], is_train: bool
) -> Tuple[TokenFeatures, Callable]:
    attr_ids: List[int] = model.attrs["attr_ids"]
    rows: List[int] = model.attrs["rows"]
    doc_lengths = [len(doc) for doc in docs]
    columns = [*attr_ids, LOWER, ORTH]
    non_empty = [doc.to_array(columns) for doc in docs if len(doc)]
    if non_empty:
        table = numpy.concatenate(non_empty).astype(numpy.uint64)
    else:
        table = numpy.zeros((0, len(columns)), dtype=numpy.uint64)
    if all(attr in LEXEME_ATTRS for attr in attr_ids):
        _, first_seen, inverse = numpy.unique(table[:, -1], return_index=True, return_inverse=True)
    else:
        _, first_seen, inverse = numpy.unique(table, axis=0, return_index=True, return_inverse=True)
    words = table[first_seen]
    orths = numpy.ascontiguousarray(words[:, -1])
    lowers = numpy.ascontiguousarray(words[:, -2])
    ops = model.ops
    hash_ids = numpy.zeros((len(words), len(attr_ids), 4), dtype=numpy.int64)
    for i, n_rows in enumerate(rows):
        if len(words):
            column = numpy.ascontiguousarray(words[:, i])
            hashed = ops.to_numpy(ops.hash(ops.asarray(column, dtype="uint64"), i))
            hash_ids[:, i] = hashed.astype(numpy.int64) % n_rows
    char_features = morph = None
    strings = docs[0].vocab.strings if docs else None
    if model.attrs["use_chars"]:
        if len(words):
            char_features = model.char_cache.lookup(orths, strings)
        else:
            char_features = numpy.zeros((0, model.attrs["max_chars"]), dtype=numpy.int64)
    shape_ids = None
    if model.attrs["use_shapes"]:
        if len(words):
            shape_ids = model.shape_cache.lookup(orths, strings)
        else:
            shape_ids = numpy.zeros((0,), dtype=numpy.int64)
    n_lexical = model.n_lexical
    if n_lexical:
        if len(words):
            morph = lexical_features(model, orths, lowers, strings)
        else:
            morph = numpy.zeros((0, n_lexical), dtype=numpy.float32)
    features = TokenFeatures(
        hash_ids=hash_ids,
        word_index=inverse.reshape(-1).astype(numpy.int64),
        char_ids=char_features,
        morph=morph,
        vector_keys=lowers.view(numpy.int64),
        shape_ids=shape_ids,
        seq_lengths=sequence_lengths(docs, model.attrs["window"]),
        context_lengths=sequence_lengths(docs, model.attrs["window"], by_sentence=False) if model.attrs["use_shapes"] else None,
        doc_lengths=doc_lengths,
    )
    return features, lambda d_features: []
