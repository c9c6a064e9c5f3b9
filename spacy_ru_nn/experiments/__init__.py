"""The experiment commands of `python -m spacy_ru_nn`: cross-validation, ablation, benchmarks
and plots behind the published numbers. One command per module, registered on the same Typer
app as the user commands (`spacy_ru_nn.cli`), which never import from here.
"""
from ..cli import app
from . import (  # noqa: F401  (register the commands)
    ablate_ner,
    benchmark_annotate,
    benchmark_ner,
    benchmark_processes,
    benchmark_spam,
    benchmark_spam_bilstm,
    benchmark_spam_models,
    compare_segmentation,
    cv_ner,
    cv_ner_table,
    cv_spam,
    plot_attention,
    plot_training,
    profile_spam,
)

__all__ = ["app"]
