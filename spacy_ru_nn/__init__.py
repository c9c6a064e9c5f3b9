"""spacy-ru-nn: classic neural models for text as spaCy components on PyTorch.

spaCy finds the components, architectures, tokenizers, scorers, callbacks and augmenters
through the distribution's entry points, importing each module when a config names it, so
pipelines load without `--code`. Importing this package itself imports nothing heavy:
`python -m spacy_ru_nn --help` answers without loading spaCy or torch, and the classes below
load on first access.
"""
import importlib
from typing import Any

from .about import __version__

_LAZY = {
    "BiLSTMEntityRecognizer": ".ner.component",
    "make_bilstm_ner": ".ner.component",
    "RazdelSentencizer": ".sentencizer",
    "make_razdel_sentencizer": ".sentencizer",
    "BoWTextCategorizer": ".textcat.component",
    "make_nn_textcat": ".textcat.component",
    "EntityNormalizer": ".normalizer",
    "make_entity_normalizer": ".normalizer",
    "normalize_span": ".normalizer",
    "one_torch_thread_in_workers": ".callbacks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
