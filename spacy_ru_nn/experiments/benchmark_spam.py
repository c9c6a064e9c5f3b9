"""`benchmark-spam`: nn_textcat against spaCy's TextCatBOW and two scikit-learn baselines, on the
same split and folds, in one run."""
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy
import spacy
import torch
import typer
from spacy.language import Language
from wasabi import msg

from ..cli._app import app
from ..spam_metrics import binary_metrics, read_gold, throughput
from ..tables import markdown_table
from ._spam_training import benchmark_rows, fold_dirs, train_and_score_spacy


@app.command("benchmark-spam")
def benchmark_spam(
    config_path: Path = typer.Argument(..., help="nn_textcat config, configs/spam.cfg", exists=True, dir_okay=False),
    baseline_config: Path = typer.Argument(
        ..., help="spaCy textcat config, configs/spam_textcatbow.cfg", exists=True, dir_okay=False
    ),
    corpus_dir: Path = typer.Argument(
        ..., help="corpus/spam: train/dev/test.spacy and folds/", exists=True, file_okay=False
    ),
    training_dir: Path = typer.Option(Path("training/spam_benchmark"), help="Where the trained models go"),
    output: Path = typer.Option(Path("metrics/spam_benchmark.md"), "--output", "-o", help="Markdown table"),
    json_output: Optional[Path] = typer.Option(None, "--json", help="All numbers as JSON"),
) -> None:
    """One table, one run: nn_textcat, spaCy TextCatBOW and two sklearn baselines on the same
    split (test F1/AUC/MCC, training seconds, messages/s) and the same folds (F1 mean ± sd)."""
    torch.set_num_threads(1)
    blank = spacy.blank("en")
    folds = fold_dirs(corpus_dir / "folds")
    systems: Dict[str, Dict[str, Any]] = {}
    for name, config in (("nn_textcat (BoWPerceptron)", config_path), ("spaCy textcat (TextCatBOW.v3)", baseline_config)):
        msg.text(f"Training {name} on the split and {len(folds)} folds ...")
        systems[name] = train_and_score_spacy(config, corpus_dir, folds, training_dir / config.stem)
    for name, make in _sklearn_systems().items():
        msg.text(f"Fitting {name} ...")
        test, pipeline, texts = _run_sklearn(make, corpus_dir, blank)
        test["messages_per_second"] = throughput(lambda batch: _sklearn_scores(pipeline, batch), texts)
        systems[name] = {"test": test, "folds": [_run_sklearn(make, fold, blank)[0] for fold in folds]}
    header, rows = benchmark_rows(systems, len(folds))
    msg.table(rows, header=header, divider=True)
    note = (
        f"\nTest: the duplicate-aware 70/15/15 split; {len(folds)}-fold: the duplicate-aware folds "
        "(mean ± sd). spaCy pipelines early-stop on dev; sklearn fits the same train part. "
        "msgs/s: `nlp.pipe` on raw texts (tokenization included) or sklearn vectorize + "
        "predict, one thread.\n"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown_table(header, rows) + note, encoding="utf8")
    msg.good(f"Saved {output}")
    if json_output is not None:
        json_output.parent.mkdir(parents=True, exist_ok=True)
        json_output.write_text(json.dumps(systems, indent=2), encoding="utf8")
        msg.good(f"Saved {json_output}")


def _sklearn_systems() -> Dict[str, Callable[[], Any]]:
    try:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC
    except ImportError as err:
        raise ImportError("The benchmark needs scikit-learn: pip install 'spacy-ru-nn[benchmark]'") from err
    return {
        "sklearn CountVectorizer + MultinomialNB": lambda: make_pipeline(CountVectorizer(), MultinomialNB()),
        "sklearn TF-IDF + LinearSVC": lambda: make_pipeline(TfidfVectorizer(), LinearSVC(random_state=0)),
    }


def _sklearn_scores(pipeline: Any, texts: Sequence[str]) -> numpy.ndarray:
    # NB has calibrated-ish probabilities; the SVM's margin ranks just as well for AUC.
    if hasattr(pipeline, "predict_proba"):
        return pipeline.predict_proba(texts)[:, 1]
    return pipeline.decision_function(texts)


def _run_sklearn(make: Callable[[], Any], split_dir: Path, nlp: Language) -> Tuple[Dict[str, Any], Any, List[str]]:
    texts, y = read_gold(split_dir / "train.spacy", nlp)
    test_texts, y_test = read_gold(split_dir / "test.spacy", nlp)
    pipeline = make()
    start = time.perf_counter()
    pipeline.fit(texts, y)
    seconds = time.perf_counter() - start
    scores = _sklearn_scores(pipeline, test_texts)
    # Threshold 0.5 on NB's probability, 0.0 on the SVM's margin: their predict().
    threshold = 0.5 if hasattr(pipeline, "predict_proba") else 0.0
    metrics = binary_metrics(y_test, scores, threshold)
    metrics["train_seconds"] = seconds
    return metrics, pipeline, test_texts
