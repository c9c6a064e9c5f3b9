"""A spaCy tokenizer that cuts Russian text as razdel does.

razdel is natasha's tokenizer: navec's vectors and slovnet's pretrained encoders were trained on
its tokens. spaCy's Russian tokenizer splits hyphenated words ("ТНК-ВР", "Санкт-Петербург",
"из-за"), which are common in Russian names, and keeps others razdel splits ("тыс.",
"NEWSru.com"): on the factRuEval testset one token in 25 differs, and slovnet's NER encoder
reads spaCy's tokens 2.4 points of entity F1 worse than razdel's.
"""
from pathlib import Path
from typing import Iterable, Iterator, List, Union

import razdel
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab


@registry.tokenizers("spacy-ru-nn.RazdelTokenizer.v1")
def create_razdel_tokenizer():
    """`[nlp.tokenizer] @tokenizers = "spacy-ru-nn.RazdelTokenizer.v1"`."""

    def make_tokenizer(nlp) -> "RazdelTokenizer":
        return RazdelTokenizer(nlp.vocab)

    return make_tokenizer


class RazdelTokenizer:
    """Text -> Doc with razdel's tokens; whitespace between them follows spaCy's convention
    (one trailing space per token, any other whitespace a token of its own), so that
    `doc.text` is always the input text."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words: List[str] = []
        spaces: List[bool] = []
        position = 0
        for token in razdel.tokenize(text):
            _add_whitespace(text[position : token.start], words, spaces)
            words.append(token.text)
            spaces.append(False)
            position = token.stop
        _add_whitespace(text[position:], words, spaces)
        return Doc(self.vocab, words=words, spaces=spaces)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    # Nothing to save: the tokenizer has no settings or data of its own.
    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        return b""

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RazdelTokenizer":
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        Path(path).write_bytes(b"")

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "RazdelTokenizer":
        return self


def _add_whitespace(gap: str, words: List[str], spaces: List[bool]) -> None:
    """The text between two tokens: a single space after the previous token is its trailing
    space; anything else becomes a whitespace token."""
    if gap[:1] == " " and words and not spaces[-1]:
        spaces[-1] = True
        gap = gap[1:]
    if gap:
        words.append(gap)
        spaces.append(False)
