"""`evaluate-ner`: entity-level and token-level scores, speed and the errors by kind on gold data."""
import json
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from wasabi import msg

from ..tables import markdown_table
from ._app import app

HEADER = ("type", "entity P", "entity R", "entity F", "token-IO F")


@app.command("evaluate-ner")
def evaluate_ner(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data_path: Path = typer.Argument(..., help=".spacy file with gold entities", exists=True, dir_okay=False),
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the metrics JSON"),
    batch_size: int = typer.Option(64, help="Texts per batch through the pipeline"),
    train_path: Optional[Path] = typer.Option(
        None, "--train-path", help="The .spacy file the pipeline was trained on: recall is then also reported for test mentions seen in it and unseen",
        exists=True, dir_okay=False,
    ),
    n_examples: int = typer.Option(0, "--examples", help="Print this many errors of each kind, drawn at random"),
) -> None:
    """Entity-level P/R/F (spaCy's scorer), token-level IO F1 per type, words/second, and
    where the exact-span errors come from."""
    import spacy
    import torch
    from spacy.scorer import get_ner_prf
    from spacy.tokens import DocBin
    from spacy.training import Example

    from ..ner_metrics import boundary_summary, error_breakdown, error_examples, error_table, read_training_mentions
    from ..ner_metrics import token_io_prf

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
    msg.table(_rows(result), header=HEADER, divider=True)
    msg.info(f"{result['words']} words in {result['seconds']} s: {result['words_per_second']} words/s")
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


def _rows(result: Dict) -> List[Tuple[str, ...]]:
    entity, token = result["entity"], result["token_io"]
    rows = [("micro", entity["ents_p"], entity["ents_r"], entity["ents_f"], token["micro"]["f"])]
    for label in sorted(entity["ents_per_type"]):
        e = entity["ents_per_type"][label]
        rows.append((label, e["p"], e["r"], e["f"], token["per_type"].get(label, {}).get("f", 0.0)))
    return [(name, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", f"{io:.3f}") for name, p, r, f, io in rows]


def _markdown(result: Dict) -> str:
    from ..ner_metrics import boundary_summary, error_table

    speed = f"{result['words']} words, {result['words_per_second']:.0f} words/s (nlp.pipe, 1 torch thread)"
    errors = markdown_table(*error_table({"": result["errors"]}))
    boundaries = boundary_summary(result["errors"])
    return markdown_table(HEADER, _rows(result)) + "\n" + speed + "\n\n" + errors + "\n" + boundaries + "\n"
