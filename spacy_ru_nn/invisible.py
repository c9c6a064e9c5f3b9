"""Invisible characters: zero-width and bidirectional control characters that text picks up on
its way to the user (copied from web pages, messengers, right-to-left editors) and that
change nothing a reader sees.

The components read a text as if they were absent: the tokenizer of `tokenizer.py` keeps them
out of the tokens' edges, the featurizers read each word without them and skip a token made
only of them, so that a text finds the same entities and gets the same categories with them or
without them. `doc.text` keeps them: offsets stay those of the text as given.
"""
import re
from typing import Optional, Tuple

import numpy
from spacy.attrs import NORM, SENT_START, SPACY
from spacy.tokens import Doc

# Zero-width space, non-joiner, joiner; left-to-right and right-to-left marks; the bidi
# embeddings, overrides and their terminator; word joiner and the invisible operators;
# the byte order mark (zero-width no-break space).
INVISIBLE = (
    "\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064"
    "\ufeff"
)
INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")
_DELETE_INVISIBLE = str.maketrans("", "", INVISIBLE)
_INVISIBLE_CODES = numpy.asarray([ord(char) for char in INVISIBLE], dtype=numpy.uint32)


def has_invisible(text: str) -> bool:
    """Whether `text` holds an invisible character: one regex scan, no copy of the text, and
    none for ASCII text, which cannot hold one."""
    return not text.isascii() and INVISIBLE_RE.search(text) is not None


def strip_invisible(text: str) -> str:
    """`text` without its invisible characters."""
    return text.translate(_DELETE_INVISIBLE)


def visible_positions(text: str) -> numpy.ndarray:
    """The offset in `text` of each character of `strip_invisible(text)`."""
    codes = numpy.frombuffer(text.encode("utf-32-le"), dtype=numpy.uint32)
    return numpy.flatnonzero(~numpy.isin(codes, _INVISIBLE_CODES))


def visible_view(doc: Doc) -> Tuple[Doc, Optional[numpy.ndarray]]:
    """The doc as the models read it, and which of its tokens that view keeps.

    A doc without invisible characters is its own view (and the kept tokens are None). Any
    other is viewed as a new Doc of its tokens with the invisible characters removed, leaving
    out the tokens made only of them: a token keeps its trailing space, or takes one of a
    left-out token after it, and a sentence that starts at a left-out token starts at the next
    token kept. With an invisible-aware tokenizer that is the doc of the text without them.

    doc (Doc): A tokenized document.
    RETURNS (Tuple[Doc, Optional[numpy.ndarray]]): The view, and the int64 index in `doc` of
        each of its tokens (None when the view is `doc`).
    """
    if not has_invisible(doc.text):
        return doc, None
    words = [strip_invisible(token.text) for token in doc]
    keep = numpy.asarray([i for i, word in enumerate(words) if word], dtype=numpy.int64)
    if not len(keep):
        return Doc(doc.vocab, words=[], spaces=[]), keep
    has_space = doc.to_array(SPACY).astype(bool)
    # A kept token is followed by a space if it or a left-out token up to the next kept one is.
    spaces = numpy.logical_or.reduceat(has_space, keep).tolist()
    view = Doc(doc.vocab, words=[words[i] for i in keep], spaces=spaces)
    # A norm of the token's own (a tokenizer's special case) carries over; a default norm is
    # the lexeme's, which the view's words have without the invisible characters.
    norms = doc.to_array(NORM)[keep]
    own_norm = norms != numpy.asarray([doc[int(i)].lex.norm for i in keep], dtype=numpy.uint64)
    if own_norm.any():
        view.from_array([NORM], numpy.where(own_norm, norms, view.to_array(NORM)).reshape(-1, 1))
    if doc.has_annotation("SENT_START"):
        sent_starts = doc.to_array(SENT_START).astype(numpy.int64)
        n_starts = numpy.concatenate([[0], numpy.cumsum(sent_starts == 1)])
        # A sentence starting anywhere after the previous kept token starts at this one.
        after_previous = numpy.concatenate([[0], keep[:-1] + 1])
        starts_here = n_starts[keep + 1] > n_starts[after_previous]
        values = numpy.where(starts_here, 1, numpy.minimum(sent_starts[keep], 0))
        view.from_array([SENT_START], values.astype(numpy.uint64).reshape(-1, 1))
    return view, keep


__all__ = ["INVISIBLE", "INVISIBLE_RE", "has_invisible", "strip_invisible", "visible_positions", "visible_view"]
