"""The `python -m spacy_ru_nn` command line: data preparation, conversion, evaluation, benchmarks.

Each task registers its commands on the shared Typer apps from its own module, so this file
only wires them together.
"""
from ._app import app, convert_app
from . import ablate_ner, annotate, benchmark_ner, cv_ner, data, ner, robustness, spam, spam_bilstm  # noqa: F401  (register commands)

__all__ = ["app", "convert_app"]
