"""`convert factru`: factRuEval-2016 -> train/dev/devset/test DocBins and cross-validation folds."""
from pathlib import Path

import typer
from wasabi import msg

from ._app import convert_app


@convert_app.command("factru")
def convert_factru(
    source: Path = typer.Argument(
        ..., help="factRuEval-2016 folder holding devset/ and testset/", exists=True, file_okay=False
    ),
    output_dir: Path = typer.Argument(..., help="Where train.spacy, dev.spacy and test.spacy go"),
    dev_fraction: float = typer.Option(0.2, help="Share of devset documents held out for early stopping"),
    seed: int = typer.Option(0, help="Seed of the document-level train/dev split and the folds"),
    n_folds: int = typer.Option(3, help="Cross-validation folds of the devset, split by document (0: none)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed records (counted) instead of stopping"),
    tokenizer: str = typer.Option(
        "razdel", help="'razdel' (natasha's tokenizer, which the NER pipelines use) or 'spacy' (spaCy's Russian tokenizer)"
    ),
) -> None:
    """devset -> train + held-out dev (split by document, seeded); testset -> test.

    Documents are tokenized as the pipeline that trains on them will tokenize (razdel for the
    NER configs), so that gold entities fall on its token boundaries. devset.spacy holds every
    devset document, for the final fit; folds/fold_K/{train,dev}.spacy are the
    cross-validation folds that choose the training schedule.
    """
    import spacy
    from spacy.tokens import DocBin

    from ..corpora.factru import CorpusFormatError, convert_folder, fold_documents, split_documents
    from ..tokenizer import InvisibleAwareTokenizer, RazdelTokenizer

    nlp = spacy.blank("ru")
    if tokenizer == "razdel":
        nlp.tokenizer = InvisibleAwareTokenizer(RazdelTokenizer(nlp.vocab))
    elif tokenizer != "spacy":
        msg.fail(f"--tokenizer {tokenizer!r}: use 'razdel' or 'spacy'", exits=1)
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
