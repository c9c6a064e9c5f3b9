"""`evaluate-normal`: entity normal forms against factRuEval's gold ones, at gold bounds and
end to end, beside the baselines, and the pipeline's speed with and without the normaliser."""
from pathlib import Path
from typing import List, Optional

import typer

from ._app import app


@app.command("evaluate-normal")
def evaluate_normal(
    source: Path = typer.Argument(..., help="A factRuEval-2016 folder of documents (testset/)", exists=True, file_okay=False),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="A pipeline with an entity_normalizer: end-to-end accuracy and speed"
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Metrics JSON; a .md table goes beside it"),
    mentions: Optional[Path] = typer.Option(
        None, "--mentions", help="Write the documents and their gold mentions as JSONL (for scripts/natasha_normal.py)"
    ),
    references: List[str] = typer.Option(
        [], "--reference", help="NAME=PATH: another normaliser's output JSONL (doc_id, start, end, label, normal), scored as a row"
    ),
    repeats: int = typer.Option(3, help="Interleaved timing runs of the pipeline with and without the normaliser"),
    batch_size: int = typer.Option(64, help="nlp.pipe batch size"),
) -> None:
    """Accuracy of `span._.normal` on the mentions that have a gold normal form: overall, per
    type and on inflected mentions, with the baselines "as written" and "pymorphy3 lemma per
    word" in the same table."""
    from ..normalizer.evaluation import evaluate_normal_forms

    evaluate_normal_forms(source, model, output, mentions, references, repeats, batch_size)
