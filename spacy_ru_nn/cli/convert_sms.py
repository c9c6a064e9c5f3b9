"""`convert sms`: the SMS Spam Collection TSV -> train/dev/test DocBins and folds, duplicates
never split."""
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Sequence

import typer
from wasabi import msg

from ._app import convert_app

if TYPE_CHECKING:
    from spacy.language import Language

    from ..corpora.sms import SmsMessage

SPLITS = ("train", "dev", "test")


@convert_app.command("sms")
def convert_sms(
    source: Path = typer.Argument(
        ..., help="SMS Spam Collection TSV: label<TAB>text, no header", exists=True, dir_okay=False
    ),
    output_dir: Path = typer.Argument(..., help="Where train/dev/test.spacy and folds/ go"),
    lang: str = typer.Option("en", help="Language of the blank tokenizer"),
    seed: int = typer.Option(0, help="Seed of the stratified group shuffle"),
    n_folds: int = typer.Option(5, "--folds", help="Cross-validation folds written to OUTPUT_DIR/folds (0: none)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed lines (counted) instead of stopping"),
) -> None:
    """Split 70/15/15 by groups of identical texts (stratified, seeded) and write DocBins."""
    import spacy

    from ..corpora.sms import MalformedLineError, cross_validation_splits, describe, leaked_texts, read_sms_tsv
    from ..corpora.sms import split_groups

    try:
        messages, n_skipped = read_sms_tsv(source, skip_bad=skip_bad)
    except MalformedLineError as err:
        msg.fail("Cannot convert the SMS collection", str(err), exits=1)
    except OSError as err:
        msg.fail(f"Cannot read {source}", str(err), exits=1)
    if n_skipped:
        msg.warn(f"Skipped {n_skipped} malformed line(s) of {source}")
    if not messages:
        msg.fail(f"No messages in {source}", exits=1)
    total = describe(messages)
    msg.info(
        f"{source}: {total['messages']} messages, {total['distinct']} distinct texts "
        f"({total['messages'] - total['distinct']} duplicates kept with their group)"
    )
    nlp = spacy.blank(lang)
    parts = dict(zip(SPLITS, split_groups(messages, (0.7, 0.15, 0.15), seed=seed)))
    _write_split(nlp, parts, output_dir)
    for held_out in ("dev", "test"):
        if leaked_texts(parts["train"], parts[held_out]):
            msg.fail(f"Texts shared by train and {held_out}: the group split is broken", exits=1)
    if n_folds:
        for k, (train, dev, test) in enumerate(cross_validation_splits(messages, n_folds, seed=seed)):
            msg.divider(f"fold {k}")
            _write_split(nlp, {"train": train, "dev": dev, "test": test}, output_dir / "folds" / f"fold{k}")


def _write_split(nlp: "Language", parts: Dict[str, Sequence["SmsMessage"]], output_dir: Path) -> None:
    from ..corpora.sms import describe, messages_to_docbin

    output_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, part in parts.items():
        path = output_dir / f"{name}.spacy"
        messages_to_docbin(nlp, part).to_disk(path)
        counts = describe(part)
        rows.append((name, counts["messages"], counts["distinct"], counts["ham"], counts["spam"], str(path)))
    msg.table(rows, header=("split", "messages", "distinct", "ham", "spam", "file"), divider=True)
