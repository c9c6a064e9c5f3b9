"""Token attributes that belong to the lexeme, shared by every featurizer of the plugin."""
from typing import Dict

from spacy.attrs import (
    IS_ALPHA, IS_ASCII, IS_BRACKET, IS_CURRENCY, IS_DIGIT, IS_LEFT_PUNCT, IS_LOWER, IS_PUNCT,
    IS_QUOTE, IS_RIGHT_PUNCT, IS_SPACE, IS_STOP, IS_TITLE, IS_UPPER, LENGTH, LIKE_EMAIL, LIKE_NUM,
    LIKE_URL, LOWER, ORTH, PREFIX, SHAPE, SUFFIX,
)  # fmt: skip

# Attributes that spaCy reads from the lexeme, so equal words always have equal values, and the
# `Lexeme` property that holds each: a featurizer may compute them once per distinct word. NORM
# is not one: a component may set a token's norm on its own.
LEXEME_ATTRS: Dict[int, str] = {
    ORTH: "orth", LOWER: "lower", SHAPE: "shape", PREFIX: "prefix", SUFFIX: "suffix",
    LENGTH: "length", IS_ALPHA: "is_alpha", IS_ASCII: "is_ascii", IS_DIGIT: "is_digit",
    IS_LOWER: "is_lower", IS_PUNCT: "is_punct", IS_SPACE: "is_space", IS_TITLE: "is_title",
    IS_UPPER: "is_upper", LIKE_URL: "like_url", LIKE_NUM: "like_num", LIKE_EMAIL: "like_email",
    IS_STOP: "is_stop", IS_BRACKET: "is_bracket", IS_QUOTE: "is_quote",
    IS_LEFT_PUNCT: "is_left_punct", IS_RIGHT_PUNCT: "is_right_punct", IS_CURRENCY: "is_currency",
}  # fmt: skip
