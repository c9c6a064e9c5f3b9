"""Research beside the package: cross-validation, ablation, benchmarks, profiles and plots
behind README's tables and docs/. One command per module on one Typer app, run as
`python -m scripts COMMAND` from the project's root; none of it ships in the wheel.
"""
from ._app import app
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
