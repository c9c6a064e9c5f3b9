"""spacy-ru-nn: classic neural models for text as spaCy components on PyTorch.

Importing the package registers its factories, architectures, scorers, callbacks and
augmenters; an installed distribution also exposes them through entry points, so pipelines
load without `--code`.
"""
from .about import __version__
from . import architectures, callbacks, tokenizer  # noqa: F401
from .callbacks import one_torch_thread_in_workers  # noqa: F401
from .components.ner import BiLSTMEntityRecognizer, make_bilstm_ner  # noqa: F401
from .components.sentencizer import RazdelSentencizer, make_razdel_sentencizer  # noqa: F401
from . import scorers  # noqa: F401
from .corpora import augment  # noqa: F401
from .components.textcat import BoWTextCategorizer, make_nn_textcat  # noqa: F401

__all__ = [
    "__version__",
    "BiLSTMEntityRecognizer",
    "make_bilstm_ner",
    "RazdelSentencizer",
    "make_razdel_sentencizer",
    "BoWTextCategorizer",
    "make_nn_textcat",
    "one_torch_thread_in_workers",
]
