"""`benchmark-spam`: nn_textcat against spaCy's TextCatBOW and two scikit-learn baselines, on the
same split and folds, in one run."""
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy
import spacy
import torch
import typer
from spacy.language import Language
from wasabi import msg

from ._app import app
from spacy_ru_nn.spam_metrics import binary_metrics, read_gold
from ._spam_training import (
    SPEED_BATCH_SIZE,
    TOKENIZER_BATCHED,
    TOKENIZER_ONLY,
    fold_dirs,
    measure_speeds,
    speed_ratios,
    train_and_score_spacy,
    write_benchmark,
)

NN_TEXTCAT = "nn_textcat (BoWPerceptron)"
TEXTCAT_BOW = "spaCy textcat (TextCatBOW.v3)"


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
    split (test F1/AUC/MCC, training seconds, messages/s) and the same folds (F1 mean ± sd),
    with the speed of spaCy's tokenizer alone, the ceiling of any spaCy text classifier."""
    torch.set_num_threads(1)
    blank = spacy.blank("en")
    folds = fold_dirs(corpus_dir / "folds")
    systems: Dict[str, Dict[str, Any]] = {}
    pipelines = {}
    for name, config in ((NN_TEXTCAT, config_path), (TEXTCAT_BOW, baseline_config)):
        msg.text(f"Training {name} on the split and {len(folds)} folds ...")
        pipelines[name], texts, systems[name] = train_and_score_spacy(config, corpus_dir, folds, training_dir / config.stem)
    sklearn_predictors = {}
    for name, make in _sklearn_systems().items():
        msg.text(f"Fitting {name} ...")
        test, pipeline, texts = _run_sklearn(make, corpus_dir, blank)
        sklearn_predictors[name] = lambda batch, pipeline=pipeline: _sklearn_scores(pipeline, batch)
        systems[name] = {"test": test, "folds": [_run_sklearn(make, fold, blank)[0] for fold in folds]}
    msg.text("Timing every system on the test messages, in turns ...")
    measure_speeds(systems, pipelines, texts, sklearn_predictors)
    ratios = speed_ratios(systems, NN_TEXTCAT, [TEXTCAT_BOW, TOKENIZER_ONLY, TOKENIZER_BATCHED])
    held = speed_ratios(systems, TOKENIZER_BATCHED, [TOKENIZER_ONLY])[TOKENIZER_ONLY]
    speed_note = (
        f"nn_textcat reads {ratios[TEXTCAT_BOW]:.2f}x TextCatBOW's msgs/s, "
        f"{ratios[TOKENIZER_ONLY]:.0%} of the tokenizer alone and {ratios[TOKENIZER_BATCHED]:.0%} of the "
        f"tokenizer with its docs held in batches, which itself reads {held:.0%} of the tokenizer alone"
    )
    msg.info(speed_note)
    systems[NN_TEXTCAT]["test"]["speed_ratios"] = ratios
    note = (
        f"Test: the duplicate-aware 70/15/15 split; {len(folds)}-fold: the duplicate-aware folds "
        "(mean ± sd). spaCy pipelines keep their best dev checkpoint; sklearn fits the same train part. "
        f"msgs/s: `nlp.pipe` on raw texts (tokenization included, batches of {SPEED_BATCH_SIZE}) or "
        "sklearn vectorize + predict, one thread, every system timed in turns, best of 5; the "
        "tokenizer rows are the same `nlp.pipe` with the component disabled, its docs read one by "
        f"one, or held {SPEED_BATCH_SIZE} at a time as a component holds them. {speed_note}."
    )
    write_benchmark(systems, len(folds), note, output, json_output)


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
