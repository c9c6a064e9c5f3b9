"""`razdel_sentencizer`: sentence boundaries from razdel, natasha's Russian sentence splitter.

spaCy's rule-based `sentencizer` ends a sentence at every full stop, so Russian initials
("А. С. Пушкин") and abbreviations ("т. е.", "тыс.") end sentences too, cutting entities in
two (`compare-segmentation`, docs/ner.md). The BiLSTM tagger reads sentence by sentence, so a
cut entity cannot be found.
"""
from typing import Callable, Iterable, Iterator, Optional

import numpy
import razdel
from spacy.attrs import IDX, SENT_START
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc

from .invisible import has_invisible, strip_invisible, visible_positions


@Language.factory(
    "razdel_sentencizer",
    assigns=["token.is_sent_start", "doc.sents"],
    default_config={"overwrite": False, "scorer": None},
)
def make_razdel_sentencizer(
    nlp: Language, name: str, overwrite: bool, scorer: Optional[Callable]
) -> "RazdelSentencizer":
    """Create a razdel sentence splitter.

    overwrite (bool): Replace sentence boundaries a doc already has (e.g. gold ones).
    scorer (Optional[Callable]): Scoring method; none by default, as it has no gold to learn.
    """
    return RazdelSentencizer(name, overwrite=overwrite, scorer=scorer)


class RazdelSentencizer(Pipe):
    """Set `token.is_sent_start` where razdel.sentenize starts a sentence.

    razdel reads the text without invisible characters (`invisible.py`), and a token made only
    of them never starts a sentence, so they move no boundary.
    """

    def __init__(self, name: str = "razdel_sentencizer", *, overwrite: bool = False, scorer: Optional[Callable] = None) -> None:
        self.name = name
        self.overwrite = overwrite
        self.scorer = scorer

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc) or (doc.has_annotation("SENT_START") and not self.overwrite):
            return doc
        text = doc.text
        token_starts = doc.to_array(IDX).astype(numpy.int64)
        readable = numpy.ones(len(doc), dtype=bool)
        if has_invisible(text):
            # Each token's offset in the text without them, and which tokens have any text left.
            token_starts = numpy.searchsorted(visible_positions(text), token_starts)
            readable = numpy.asarray([bool(strip_invisible(token.text)) for token in doc])
            text = strip_invisible(text)
        starts = numpy.fromiter((sentence.start for sentence in razdel.sentenize(text)), dtype=numpy.int64)
        is_start = numpy.isin(token_starts, starts) & readable
        # The first sentence starts at the first token, with any invisible tokens before its first word.
        is_start[numpy.flatnonzero(readable)[:1]] = False
        is_start[0] = True
        # SENT_START: 1 starts a sentence, -1 continues one.
        doc.from_array([SENT_START], numpy.where(is_start, 1, -1).astype(numpy.uint64).reshape(-1, 1))
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        for doc in stream:
            yield self(doc)

    # No weights or settings beyond the config.
    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        return b""

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "RazdelSentencizer":
        return self

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        return None

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "RazdelSentencizer":
        return self
