"""How the text classifiers' featurizers read a batch's tokens.

Token attributes as `Doc.to_array` gives them, each word without its invisible characters,
and lexeme attributes looked up once per distinct word.

Every word is read without its invisible characters (`invisible.py`), and a word made only of
them as whitespace, which the featurizers skip: `visible_lexeme` is applied once per distinct
word, when the table learns it, so a text without them costs nothing more.
"""
from typing import List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import IDS, NORM, ORTH
from spacy.lexeme import Lexeme
from spacy.tokens import Doc, Token
from spacy.vocab import Vocab

from ..invisible import has_invisible, strip_invisible
from ..lexemes import LEXEME_ATTRS
from .arrays import GrowingArray, KeyTable, rows_adding

# Distinct words whose lexeme attributes are kept; past that the table starts over, so a
# long stream of new words costs time, never unbounded memory.
MAX_CACHED_LEXEMES = 1 << 18


def token_attr_id(name: str, setting: str) -> int:
    """The spaCy attribute id of a token attribute named in a featurizer's settings."""
    if name.upper() not in IDS or name.upper() in ("IS_SPACE", ""):
        raise ValueError(f"Unknown token attribute {name!r} in {setting} (e.g. 'LOWER', 'SHAPE')")
    return IDS[name.upper()]


def check_range(ngram_range: Sequence[int], setting: str) -> Tuple[int, int]:
    """[min_n, max_n] as a pair, or ValueError naming the setting."""
    if len(ngram_range) != 2:
        raise ValueError(f"{setting} must be [min_n, max_n], got {list(ngram_range)}")
    min_n, max_n = ngram_range
    if not 1 <= min_n <= max_n:
        raise ValueError(f"{setting} must satisfy 1 <= min <= max, got {list(ngram_range)}")
    return min_n, max_n


def visible_lexeme(vocab: Vocab, orth: int) -> Lexeme:
    """The lexeme a featurizer reads for a word: the word without invisible characters, or a
    space for a word made only of them, so that such a token is skipped as whitespace is."""
    text = vocab.strings[orth]
    if not has_invisible(text):
        return vocab[orth]
    return vocab[strip_invisible(text) or " "]


def kept_tokens(doc: Doc, max_tokens: int) -> List[Token]:
    """The tokens a token featurizer reads: no whitespace tokens (nor any made only of
    invisible characters), at most max_tokens of them."""
    vocab = doc.vocab
    return [token for token in doc if not visible_lexeme(vocab, token.orth).is_space][:max_tokens]


class LexemeColumns:
    """Lexeme attributes of each distinct word (ORTH) seen so far, so that a doc is read with
    one `to_array` column whatever the featurizer needs; a word's are those of its
    `visible_lexeme`. Data derived from the vocab, not weights: a featurizer keeps it as a
    plain attribute, never saves it, and it starts over for another vocab."""

    def __init__(self, columns: Sequence[int]) -> None:
        self.columns = list(columns)
        self.properties = [LEXEME_ATTRS[column] for column in columns]
        self.clear(None)

    @classmethod
    def for_columns(cls, columns: Sequence[int]) -> Optional["LexemeColumns"]:
        """A table for the columns, or None when one of them is a token's own (POS, NORM, ...):
        then docs are read whole."""
        return cls(columns) if all(column in LEXEME_ATTRS for column in columns) else None

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


def token_columns(docs: Sequence[Doc], columns: List[int], lexemes: Optional[LexemeColumns]) -> numpy.ndarray:
    """The batch's tokens as `Doc.to_array(columns)` of each doc, one doc after the other,
    each word read as its `visible_lexeme`: through the lexeme table when there is one (one
    `to_array` column per doc), else from every column of the docs."""
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


__all__ = [
    "LexemeColumns",
    "check_range",
    "kept_tokens",
    "token_attr_id",
    "token_columns",
    "visible_lexeme",
]
