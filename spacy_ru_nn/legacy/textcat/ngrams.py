"""Bags of n-grams in numpy: the featurizer of the bag-of-words perceptron and the vectorized
helpers its model runs on (key tables, counting, ragged gathers).

`bag_of_ngrams` turns a batch of `Doc`s into one flat array of uint64 keys (word n-grams, plus
unigrams of extra token attributes such as SHAPE) and the index of the doc each key came from;
the whole batch is hashed with one `ops.ngrams` call per n, never per message. Each doc is read
with one `Doc.to_array(ORTH)`: the attributes it needs that are the lexeme's (LOWER, SHAPE,
IS_SPACE, ...) are looked up once per distinct word in a `LexemeColumns` table, since every
`to_array` column costs about a microsecond per doc, as much as the rest of a short text's
featurization. With character n-grams it also hands over each token's word and a function from
words to the keys of their character n-grams, so that the model computes those once per
distinct word, not per token.

Every word is read without its invisible characters (`invisible.py`), and a word made only of
them as whitespace, which the featurizers skip: `visible_lexeme` is applied once per distinct
word, when the table learns it, so a text without them costs nothing more.
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import IS_SPACE, LOWER, NORM, ORTH
from spacy.strings import StringStore, hash_string
from spacy.tokens import Doc
from spacy.vocab import Vocab
from thinc.api import Model, NumpyOps, deserialize_attr, serialize_attr

from ...invisible import has_invisible
from ...lexemes import LEXEME_ATTRS
from ...textcat.arrays import GrowingArray, KeyTable, count_pairs, offsets_of, ragged_take, rows_adding
from ...textcat.tokens import check_range, visible_lexeme
from .text_classifier import token_attr_id

# Character n-grams are taken from the first MAX_WORD_CHARS characters of a word: enough for
# any word, and a 1 MB "word" of a malformed text costs no more than a long one.
MAX_WORD_CHARS = 48

# Featurization always runs on CPU: it starts from Doc arrays, which live in numpy.
_numpy_ops = NumpyOps()

# Distinct words whose lexeme attributes are kept; past that the table starts over, so a
# long stream of new words costs time, never unbounded memory.
MAX_CACHED_LEXEMES = 1 << 18


@dataclass
class TokenWords:
    """The words of a batch's tokens, for character n-gram features.

    keys (numpy.ndarray): uint64 word key (LOWER or ORTH) of each non-whitespace token.
    doc_ids (numpy.ndarray): int64 index of the doc each token belongs to.
    char_ngrams (Callable): word keys -> (uint64 keys of their character n-grams, one word
        after the other; int64 number of n-grams of each word).
    """

    keys: numpy.ndarray
    doc_ids: numpy.ndarray
    char_ngrams: Callable[[numpy.ndarray], Tuple[numpy.ndarray, numpy.ndarray]]


@dataclass
class BagOfNgrams:
    """A batch of documents as a flat bag of n-gram keys.

    keys (numpy.ndarray): uint64 hashes of the word n-grams and token attribute values.
    doc_ids (numpy.ndarray): int64 index of the doc each key belongs to.
    n_docs (int): number of docs in the batch, including docs without any key.
    words (Optional[TokenWords]): the tokens' words, when the model reads character n-grams.
    """

    keys: numpy.ndarray
    doc_ids: numpy.ndarray
    n_docs: int
    words: Optional[TokenWords] = None


def bag_of_ngrams(
    ngram_range: Tuple[int, int],
    lowercase: bool,
    token_attrs: Sequence[str] = (),
    char_ngram_range: Optional[Tuple[int, int]] = None,
) -> Model[List[Doc], BagOfNgrams]:
    """Extract word n-gram keys from a batch of docs, skipping whitespace tokens.

    ngram_range (Tuple[int, int]): smallest and largest n, e.g. (1, 2) for uni+bigrams.
    lowercase (bool): hash LOWER instead of ORTH (for the character n-grams too).
    token_attrs (Sequence[str]): further token attributes added as unigram features,
        e.g. ["SHAPE"], so "09061701461" and "08712300220" share the feature "dddd".
    char_ngram_range (Optional[Tuple[int, int]]): smallest and largest n of the character
        n-grams of each word, padded with a space on each side (scikit-learn's "char_wb"),
        e.g. (2, 5); None for none.
    RETURNS (Model[List[Doc], BagOfNgrams]): the featurizer layer.
    """
    min_n, max_n = check_range(ngram_range, "ngram_range")
    if char_ngram_range is not None:
        char_ngram_range = check_range(char_ngram_range, "char_ngram_range")
    attr_ids = [token_attr_id(name, "token_attrs") for name in token_attrs]
    # Each extra attribute's values are salted with its own hash, so the shape "xxxx"
    # and the word "xxxx" are different features.
    salts = [numpy.uint64(hash_string(name.upper())) for name in token_attrs]
    columns = [LOWER if lowercase else ORTH, IS_SPACE, *attr_ids]
    return Model(
        "bag_of_ngrams",
        _bag_of_ngrams_forward,
        attrs={
            "ngram_range": (min_n, max_n),
            "columns": columns,
            "salts": salts,
            "char_ngram_range": char_ngram_range,
            # None when a column is a token's own (POS, NORM, ...): then docs are read whole.
            "lexemes": LexemeColumns(columns) if all(c in LEXEME_ATTRS for c in columns) else None,
        },
    )


def _bag_of_ngrams_forward(
    model: Model[List[Doc], BagOfNgrams], docs: List[Doc], is_train: bool
) -> Tuple[BagOfNgrams, Callable]:
    min_n, max_n = model.attrs["ngram_range"]
    columns = model.attrs["columns"]
    char_range = model.attrs.get("char_ngram_range")
    tokens = token_columns(docs, columns, model.attrs.get("lexemes"))
    lengths = numpy.asarray([len(doc) for doc in docs], dtype="int64")
    # Whitespace tokens are layout, not words: "hi  there" and "hi there" get the same bag.
    is_word = tokens[:, 1] == 0
    tokens = tokens[is_word]
    words = numpy.ascontiguousarray(tokens[:, 0])
    word_docs = numpy.repeat(numpy.arange(len(docs), dtype="int64"), lengths)[is_word]
    keys = []
    doc_ids = []
    for n in range(min_n, max_n + 1):
        if n == 1:
            keys.append(words)
            doc_ids.append(word_docs)
            continue
        if len(words) < n:
            break
        # One hash call for the whole batch; n-grams that straddle two docs are dropped.
        grams = _numpy_ops.ngrams(n, words)
        starts = word_docs[: len(grams)]
        inside = starts == word_docs[n - 1 :]
        keys.append(grams[inside])
        doc_ids.append(starts[inside])
    for column, salt in enumerate(model.attrs["salts"], start=2):
        keys.append(tokens[:, column] ^ salt)
        doc_ids.append(word_docs)
    token_words = None
    if char_range is not None and docs:
        strings = docs[0].vocab.strings
        token_words = TokenWords(
            words, word_docs, lambda word_keys: char_ngram_keys(strings, word_keys, char_range)
        )
    bag = BagOfNgrams(
        numpy.concatenate(keys) if keys else words[:0],
        numpy.concatenate(doc_ids) if doc_ids else word_docs[:0],
        len(docs),
        token_words,
    )
    # Integer features have no gradient to pass back.
    return bag, lambda d_bag: []


def token_columns(docs: Sequence[Doc], columns: List[int], lexemes: Optional["LexemeColumns"]) -> numpy.ndarray:
    """The batch's tokens as `Doc.to_array(columns)` of each doc, one doc after the other,
    each word read as its `visible_lexeme`."""
    if lexemes is None or not docs:
        arrays = [doc.to_array([*columns, ORTH]) for doc in docs]
        if not sum(len(array) for array in arrays):
            return numpy.zeros((0, len(columns)), dtype="uint64")
        table = numpy.concatenate(arrays)
        return _read_visible(docs[0].vocab, table, columns)[:, :-1]
    orths = [doc.to_array(ORTH) for doc in docs]
    return lexemes(docs[0].vocab, numpy.concatenate(orths))


def _read_visible(vocab: Vocab, table: numpy.ndarray, columns: List[int]) -> numpy.ndarray:
    """Rows of `to_array([*columns, ORTH])` with each word read as its `visible_lexeme`: its
    lexeme attributes, and its norm where the token has the lexeme's. A token's own
    attributes (POS, a special case's NORM, ...) stay as the pipeline set them."""
    orths = table[:, -1]
    for key in numpy.unique(orths).tolist():
        if not has_invisible(vocab.strings[key]):
            continue
        rows = orths == key
        lexeme, visible = vocab[key], visible_lexeme(vocab, key)
        for j, column in enumerate(columns):
            if column in LEXEME_ATTRS:
                table[rows, j] = getattr(visible, LEXEME_ATTRS[column])
            elif column == NORM:
                table[rows & (table[:, j] == lexeme.norm), j] = visible.norm
    return table


class LexemeColumns:
    """Lexeme attributes of each distinct word (ORTH) seen so far, so that a doc is read with
    one `to_array` column whatever the featurizer needs; a word's are those of its
    `visible_lexeme`. Data derived from the vocab, not weights: it is not serialized, and
    starts over for another vocab."""

    def __init__(self, columns: Sequence[int]) -> None:
        self.columns = list(columns)
        self.properties = [LEXEME_ATTRS[column] for column in columns]
        self.clear(None)

    def clear(self, vocab: Optional[Vocab]) -> None:
        self.vocab = vocab
        self.table = KeyTable()
        self.values = GrowingArray("uint64", width=len(self.properties))

    def __call__(self, vocab: Vocab, orths: numpy.ndarray) -> numpy.ndarray:
        """The columns of each token (uint64 ORTH keys): as `Doc.to_array(columns)` would give."""
        if vocab is not self.vocab:
            self.clear(vocab)

        def add(new: numpy.ndarray) -> None:
            lexemes = [visible_lexeme(vocab, key) for key in new.view("uint64").tolist()]
            columns = [[getattr(lex, name) for name in self.properties] for lex in lexemes]
            self.values.extend(numpy.asarray(columns, dtype="uint64"))

        def start_over() -> KeyTable:
            self.clear(vocab)
            return self.table

        rows = rows_adding(self.table, orths.view("int64"), MAX_CACHED_LEXEMES, add, start_over)
        return self.values.values[rows]

    def __deepcopy__(self, memo: dict) -> "LexemeColumns":
        # A copy starts empty: the vocab it refers to is not the copy's to duplicate.
        return LexemeColumns(self.columns)

    def __getstate__(self) -> dict:
        return {"columns": self.columns}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["columns"])  # type: ignore[misc]


@serialize_attr.register(LexemeColumns)
def _serialize_lexeme_columns(_: LexemeColumns, value: LexemeColumns, name: str, model: Model) -> bytes:
    # Derived from the vocab: nothing to save.
    return b""


@deserialize_attr.register(LexemeColumns)
def _deserialize_lexeme_columns(current: LexemeColumns, value: bytes, name: str, model: Model) -> LexemeColumns:
    current.clear(None)
    return current


def char_ngram_keys(
    strings: StringStore, word_keys: numpy.ndarray, ngram_range: Tuple[int, int]
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The keys of the character n-grams of each word, " word " padded as scikit-learn's
    analyzer="char_wb" pads it, and the number of n-grams of each word."""
    min_n, max_n = ngram_range
    keys: List[int] = []
    counts = numpy.zeros(len(word_keys), dtype="int64")
    for i, key in enumerate(word_keys.tolist()):
        padded = f" {strings[key][:MAX_WORD_CHARS]} "
        grams = [padded[j : j + n] for n in range(min_n, max_n + 1) for j in range(len(padded) - n + 1)]
        keys.extend(hash_string(gram) for gram in grams)
        counts[i] = len(grams)
    return numpy.asarray(keys, dtype="uint64"), counts


__all__ = [
    "BagOfNgrams",
    "GrowingArray",
    "KeyTable",
    "LexemeColumns",
    "TokenWords",
    "bag_of_ngrams",
    "char_ngram_keys",
    "count_pairs",
    "offsets_of",
    "ragged_take",
    "rows_adding",
    "token_columns",
    "visible_lexeme",
]
