"""NER commands: factRuEval conversion and evaluation with the public tables' token metric."""
import json
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import spacy
import typer
from spacy.scorer import get_ner_prf
from spacy.tokens import DocBin
from spacy.training import Example
from wasabi import msg

from ..corpora.factru import CorpusFormatError, convert_folder, fold_documents, split_documents
from ..ner_metrics import GOLD_OUTCOMES, error_breakdown, error_examples, token_io_prf, training_mentions
from ._app import app, convert_app
from ._tables import markdown_table


@convert_app.command("factru")
def convert_factru(
    source: Path = typer.Argument(
        ..., help="factRuEval-2016 folder holding devset/ and testset/", exists=True, file_okay=False
    ),
    output_dir: Path = typer.Argument(..., help="Where train.spacy, dev.spacy and test.spacy go"),
    dev_fraction: float = typer.Option(0.2, help="Share of devset documents held out for early stopping"),
    seed: int = typer.Option(0, help="Seed of the document-level train/dev split and the folds"),
    n_folds: int = typer.Option(3, help="Cross-validation folds of the devset, by document, for cv-ner (0: none)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed records (counted) instead of stopping"),
) -> None:
    """devset -> train + held-out dev (split by document, seeded); testset -> test.

    devset.spacy holds all devset documents, for the final fit once model selection has
    chosen the training schedule; folds/fold_K/{train,dev}.spacy are for `cv-ner`.
    """
    nlp = spacy.blank("ru")
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        dev_docs, dev_stats = convert_folder(nlp, source / "devset", skip_bad=skip_bad)
        test_docs, test_stats = convert_folder(nlp, source / "testset", skip_bad=skip_bad)
    except (CorpusFormatError, FileNotFoundError) as err:
        msg.fail("Cannot convert factRuEval", str(err), exits=1)
    train_docs, heldout_docs = split_documents(dev_docs, dev_fraction, seed)
    splits = (("train", train_docs), ("dev", heldout_docs), ("devset", dev_docs), ("test", test_docs))
    for name, docs in splits:
        DocBin(docs=docs, store_user_data=True).to_disk(output_dir / f"{name}.spacy")
        n_tokens = sum(len(doc) for doc in docs)
        n_ents = sum(len(doc.ents) for doc in docs)
        msg.good(f"{name}: {len(docs)} docs, {n_tokens} tokens, {n_ents} entities -> {output_dir / name}.spacy")
    if n_folds > len(dev_docs):
        msg.warn(f"No cross-validation folds: {n_folds} folds need at least {n_folds} devset documents, there are {len(dev_docs)}")
    elif n_folds:
        for fold, (fold_train, fold_dev) in enumerate(fold_documents(dev_docs, n_folds, seed)):
            fold_dir = output_dir / "folds" / f"fold_{fold}"
            fold_dir.mkdir(parents=True, exist_ok=True)
            DocBin(docs=fold_train, store_user_data=True).to_disk(fold_dir / "train.spacy")
            DocBin(docs=fold_dev, store_user_data=True).to_disk(fold_dir / "dev.spacy")
        msg.good(f"{n_folds} cross-validation folds of the devset -> {output_dir / 'folds'}")
    for name, stats in (("devset", dev_stats), ("testset", test_stats)):
        msg.info(name)
        print(stats.report())


@app.command("evaluate-ner")
def evaluate_ner(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data_path: Path = typer.Argument(..., help=".spacy file with gold entities", exists=True, dir_okay=False),
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the metrics JSON"),
    batch_size: int = typer.Option(64, help="nlp.pipe batch size"),
    train_path: Optional[Path] = typer.Option(
        None, "--train-path", help=".spacy file the model was trained on: recall on mentions seen in it and unseen",
        exists=True, dir_okay=False,
    ),
    n_examples: int = typer.Option(0, "--examples", help="Print this many errors of each kind, drawn at random"),
) -> None:
    """Entity-level P/R/F (spaCy's scorer), token-level IO F1 per type, words/second, and
    where the exact-span errors come from."""
    import torch

    torch.set_num_threads(1)
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(data_path).get_docs(nlp.vocab))
    seen = read_training_mentions(train_path) if train_path is not None else None
    texts = [doc.text for doc in gold]
    start = time.perf_counter()
    predicted = list(nlp.pipe(texts, batch_size=batch_size))
    seconds = time.perf_counter() - start
    examples = [Example(pred, ref) for pred, ref in zip(predicted, gold)]
    scores = get_ner_prf(examples)
    n_words = sum(len(doc) for doc in predicted)
    result: Dict = {
        "entity": scores,
        "token_io": token_io_prf(examples),
        "words": n_words,
        "seconds": round(seconds, 3),
        "words_per_second": round(n_words / seconds, 1),
        "errors": error_breakdown(examples, seen),
    }
    _print_table(result)
    header, rows = error_table({"": result["errors"]})
    msg.table(rows, header=header, divider=True)
    msg.info(boundary_summary(result["errors"]))
    if n_examples > 0:
        for kind, lines in error_examples(examples, n_examples).items():
            msg.divider(kind.replace("_", " "))
            print("\n".join(lines))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf8")
        output.with_suffix(".md").write_text(_markdown(result), encoding="utf8")
        msg.good(f"Saved metrics to {output} and {output.with_suffix('.md')}")


HEADER = ("type", "entity P", "entity R", "entity F", "token-IO F")


def _rows(result: Dict):
    entity, token = result["entity"], result["token_io"]
    rows = [("micro", entity["ents_p"], entity["ents_r"], entity["ents_f"], token["micro"]["f"])]
    for label in sorted(entity["ents_per_type"]):
        e = entity["ents_per_type"][label]
        rows.append((label, e["p"], e["r"], e["f"], token["per_type"].get(label, {}).get("f", 0.0)))
    return [(name, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", f"{io:.3f}") for name, p, r, f, io in rows]


def _markdown(result: Dict) -> str:
    speed = f"{result['words']} words, {result['words_per_second']:.0f} words/s (nlp.pipe, 1 torch thread)"
    errors = markdown_table(*error_table({"": result["errors"]}))
    boundaries = boundary_summary(result["errors"])
    return markdown_table(HEADER, _rows(result)) + "\n" + speed + "\n\n" + errors + "\n" + boundaries + "\n"


def _print_table(result: Dict) -> None:
    msg.table(_rows(result), header=HEADER, divider=True)
    msg.info(f"{result['words']} words in {result['seconds']} s: {result['words_per_second']} words/s")


def read_training_mentions(path: Path) -> Dict:
    from spacy.vocab import Vocab

    return training_mentions(DocBin().from_disk(path).get_docs(Vocab()))


def error_table(errors_by_system: Mapping[str, Dict]) -> Tuple[Sequence[str], List[Sequence[str]]]:
    """One row per system and type: what became of the gold entities, the spurious predictions,
    and, where measured, recall on mentions seen in training and on unseen ones."""
    with_seen = all("seen" in errors["total"] for errors in errors_by_system.values())
    named = any(errors_by_system)
    header = [
        *(["system"] if named else []), "type", "gold", "found", "wrong type", "wrong boundary", "missed",
        "spurious", *(["unseen", "R seen", "R unseen"] if with_seen else []),
    ]  # fmt: skip
    rows = []
    for system, errors in errors_by_system.items():
        for label, counts in [*errors["per_type"].items(), ("all", errors["total"])]:
            row = [*([system] if named else []), label]
            row += [str(counts[key]) for key in ("gold", *GOLD_OUTCOMES, "spurious")]
            if with_seen:
                share = counts["unseen"] / counts["gold"] if counts["gold"] else 0.0
                row += [f"{share:.0%}", f"{counts['seen_recall']:.3f}", f"{counts['unseen_recall']:.3f}"]
            rows.append(row)
    return header, rows


def boundary_summary(errors: Dict) -> str:
    kinds = errors["wrong_boundary_predictions"]
    return (
        f"Predictions with a wrong boundary: {kinds['longer']} longer than the gold entity they cover, "
        f"{kinds['shorter']} shorter, {kinds['joins_several']} joining several gold entities, "
        f"{kinds['crossing']} crossing one."
    )


PERFORMANCE_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type")


@app.command("ner-package-meta")
def ner_package_meta(
    meta_path: Path = typer.Argument(
        ..., help="meta.json fields for the package: description, license, sources, ...", exists=True, dir_okay=False
    ),
    metrics_path: Path = typer.Argument(
        ..., help="evaluate-ner's metrics JSON on the testset", exists=True, dir_okay=False
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The meta.json to pass to `spacy package --meta-path`"),
) -> None:
    """The package's meta with `performance` from the testset.

    `spacy train` records the scores of its dev documents, which for the final fit are part of
    its training data; a package should report what `evaluate-ner` measured on the testset.
    """
    meta = json.loads(meta_path.read_text(encoding="utf8"))
    metrics = json.loads(metrics_path.read_text(encoding="utf8"))
    entity = metrics.get("entity", {})
    missing = [key for key in PERFORMANCE_KEYS if key not in entity]
    if missing:
        msg.fail("No entity scores", f"{metrics_path} lacks {', '.join(missing)}: is it evaluate-ner's output?", exits=1)
    meta["performance"] = {key: entity[key] for key in PERFORMANCE_KEYS}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf8")
    msg.good(f"Package meta with testset scores (entity F {entity['ents_f']:.3f}) -> {output}")
