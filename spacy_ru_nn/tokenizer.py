"""spaCy tokenizers: one that cuts Russian text as razdel does, and a wrapper that keeps
invisible characters (`invisible.py`) out of any tokenizer's way.

razdel is natasha's tokenizer: navec's vectors and slovnet's pretrained encoders were trained on
its tokens. spaCy's Russian tokenizer splits hyphenated words ("ТНК-ВР", "Санкт-Петербург",
"из-за"), which are common in Russian names, and keeps others razdel splits ("тыс.",
"NEWSru.com"), so the pretrained encoders read spaCy's tokens worse than razdel's
(`compare-segmentation`, docs/ner.md).
"""
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Union

import razdel
from spacy.attrs import NORM
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

from .invisible import has_invisible, strip_invisible, visible_positions


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


@registry.tokenizers("spacy-ru-nn.InvisibleAwareTokenizer.v1")
def create_invisible_aware_tokenizer(
    tokenizer: Callable[[Language], Callable[[str], Doc]]
) -> Callable[[Language], "InvisibleAwareTokenizer"]:
    """`[nlp.tokenizer] @tokenizers = "spacy-ru-nn.InvisibleAwareTokenizer.v1"`, with the
    tokenizer it wraps in `[nlp.tokenizer.tokenizer]` (e.g. "spacy.Tokenizer.v1").

    tokenizer (Callable[[Language], Callable[[str], Doc]]): The wrapped tokenizer's factory.
    """

    def make_tokenizer(nlp: Language) -> "InvisibleAwareTokenizer":
        return InvisibleAwareTokenizer(tokenizer(nlp))

    return make_tokenizer


class InvisibleAwareTokenizer:
    """Tokenize as the wrapped tokenizer does the text without its invisible characters, and
    build the Doc over the text as given.

    Each token covers the characters of its token in the text without them, so invisible
    characters inside a word stay inside its token; any between two tokens (or at either end)
    become a token of their own. No other token starts or ends with one, and the tokens are
    those of the text without them, plus tokens made only of them. A text without them is
    tokenized by the wrapped tokenizer alone.

    Anything else (`memory_zone`, `explain`, special cases, ...) is the wrapped tokenizer's,
    and so is what is saved: a pipeline can swap a tokenizer for this wrapper and load it.
    """

    def __init__(self, tokenizer: Callable[[str], Doc]) -> None:
        self.tokenizer = tokenizer

    @property
    def vocab(self) -> Vocab:
        return self.tokenizer.vocab  # type: ignore[attr-defined]

    def __call__(self, text: str) -> Doc:
        if not has_invisible(text):
            return self.tokenizer(text)
        clean = self.tokenizer(strip_invisible(text))
        # Where each character of the clean text is in `text`.
        positions = visible_positions(text).tolist()
        words: List[str] = []
        spaces: List[bool] = []
        clean_tokens: List[int] = []
        end = 0
        for token in clean:
            start = positions[token.idx]
            if start > end:
                words.append(text[end:start])
                spaces.append(False)
            clean_tokens.append(len(words))
            end = positions[token.idx + len(token) - 1] + 1
            words.append(text[start:end])
            spaces.append(False)
            if token.whitespace_:
                space = positions[token.idx + len(token)]
                if space > end:
                    words.append(text[end:space])
                    spaces.append(False)
                spaces[-1] = True
                end = space + 1
        if end < len(text):
            words.append(text[end:])
            spaces.append(False)
        doc = Doc(self.vocab, words=words, spaces=spaces)
        # A token's norm is its clean token's: a special case's, or its word's without them.
        norms = doc.to_array([NORM])
        norms[clean_tokens] = clean.to_array([NORM])
        doc.from_array([NORM], norms)
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str) -> Any:
        # Only called for what this class lacks; never for the wrapped tokenizer itself, which
        # an unpickled object does not have yet.
        if name == "tokenizer" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        return self.tokenizer.to_bytes(exclude=exclude)  # type: ignore[attr-defined]

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "InvisibleAwareTokenizer":
        self.tokenizer.from_bytes(bytes_data, exclude=exclude)  # type: ignore[attr-defined]
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        self.tokenizer.to_disk(path, exclude=exclude)  # type: ignore[attr-defined]

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "InvisibleAwareTokenizer":
        self.tokenizer.from_disk(path, exclude=exclude)  # type: ignore[attr-defined]
        return self
