"""`evaluate-spam`: a spam pipeline on a converted split: binary metrics, spaCy's cats scores,
messages/s and, on request, ROC, precision-recall and confusion-matrix plots."""
import json
from pathlib import Path
from typing import Any, Dict, Optional

import typer
from wasabi import msg

from ._app import app


@app.command("evaluate-spam")
def evaluate_spam(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data_path: Path = typer.Argument(
        ..., help="Converted split, e.g. corpus/spam/test.spacy", exists=True, dir_okay=False
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Metrics JSON"),
    plots_dir: Optional[Path] = typer.Option(None, "--plots", help="Folder for ROC, PR and confusion PNGs"),
    threshold: Optional[float] = typer.Option(None, help="Spam probability from which a message counts as spam (default: the pipeline's own threshold)"),
) -> None:
    """Accuracy, P/R/F1, ROC AUC, MCC and confusion matrix for spam, plus spaCy's scores."""
    import spacy
    import torch
    from spacy.tokens import DocBin
    from spacy.training import Example

    from ..spam_metrics import (
        binary_metrics,
        plot_curves,
        read_gold,
        sklearn_metrics,
        spacy_spam_scores,
        spam_threshold,
        throughput,
    )

    try:
        sklearn_metrics()
    except ImportError as err:
        msg.fail("evaluate-spam needs scikit-learn", str(err), exits=1)
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    texts, y_true = read_gold(data_path, nlp)
    threshold = spam_threshold(nlp) if threshold is None else threshold
    scores = spacy_spam_scores(nlp, texts)
    result = binary_metrics(y_true, scores, threshold)
    gold_docs = DocBin().from_disk(data_path).get_docs(nlp.vocab)
    examples = [Example(doc, gold) for doc, gold in zip(nlp.pipe(texts), gold_docs)]
    result["spacy"] = {k: v for k, v in nlp.evaluate(examples).items() if k.startswith("cats_")}
    result["messages_per_second"] = throughput(lambda batch: spacy_spam_scores(nlp, batch), texts)
    _print_binary(result)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2), encoding="utf8")
        msg.good(f"Saved metrics to {output}")
    if plots_dir is not None:
        for path in plot_curves(y_true, scores, plots_dir, threshold=threshold):
            msg.good(f"Saved {path}")


def _print_binary(result: Dict[str, Any]) -> None:
    keys = ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "average_precision")
    msg.table([(key, f"{result[key]:.4f}") for key in keys], header=("metric (spam)", "value"), divider=True)
    (tn, fp), (fn, tp) = result["confusion_matrix"]
    msg.table([("gold ham", tn, fp), ("gold spam", fn, tp)], header=("", "pred ham", "pred spam"), divider=True)
    msg.info(
        f"{result['n']} messages, threshold {result['threshold']:g}, "
        f"{result['messages_per_second']:.0f} messages/s through nlp.pipe"
    )
