"""The user commands of `python -m spacy_ru_nn`: fetch and convert the corpora, evaluate a
pipeline, check metric floors, write a package's meta, annotate a corpus. One command per
module, each registered on the shared Typer app. The research commands (cross-validation,
benchmarks, plots) live in the project's `scripts/`, outside the package.
"""
from ._app import app, convert_app
from . import (  # noqa: F401  (register the commands)
    annotate,
    check_metrics,
    convert_factru,
    convert_sms,
    evaluate_ner,
    evaluate_normal,
    evaluate_spam,
    fetch_data,
    ner_package_meta,
)

__all__ = ["app", "convert_app"]
