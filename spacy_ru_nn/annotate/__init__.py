"""Bulk annotation of a corpus with any spaCy pipeline: streamed in units, every record
accounted for (a shard row or an errors-file row), resumable, on one machine (`nlp.pipe`) or
a Ray cluster. The user command is `python -m spacy_ru_nn annotate`; Ray is imported only by
`--engine ray`."""
from .inputs import REJECTIONS, InputError
from .manifest import ManifestMismatch
from .run import ENGINES, annotate_corpus
from .outputs import FORMATS

__all__ = ["ENGINES", "FORMATS", "REJECTIONS", "InputError", "ManifestMismatch", "annotate_corpus"]
