"""`profile-spam`: where a message's time goes in `nn_textcat`, stage by stage, next to the
tokenizer's own time: the table behind what `benchmark-spam`'s speed ratios can and cannot
reach."""
import gc
import time
from pathlib import Path
from typing import Callable, Dict, List

import spacy
import torch
import typer
from spacy.attrs import ORTH
from spacy.util import minibatch
from wasabi import msg

from ._app import app
from spacy_ru_nn.spam_metrics import read_gold
from spacy_ru_nn.tables import markdown_table


@app.command("profile-spam")
def profile_spam(
    model: str = typer.Argument(..., help="A trained nn_textcat pipeline, e.g. training/spam/model-best"),
    texts_path: Path = typer.Argument(..., help=".spacy DocBin whose texts are timed", exists=True, dir_okay=False),
    component: str = typer.Option("textcat", "--component", "-c", help="The nn_textcat component's name"),
    batch_size: int = typer.Option(1000, "--batch-size", help="Docs per batch, as nlp.pipe would hand them over"),
    min_messages: int = typer.Option(20_000, "--min-messages", help="The texts are repeated to at least this many"),
    repeats: int = typer.Option(7, "--repeats", help="Turns; the best of them counts"),
    freeze_gc: bool = typer.Option(False, "--freeze-gc", help="gc.freeze() once the pipeline is loaded"),
    output: Path = typer.Option(Path("metrics/spam_profile.md"), "--output", "-o", help="Markdown table"),
) -> None:
    """Time each stage of nn_textcat on pre-tokenized batches (one thread, the stages timed in
    turns, best of `repeats`): reading each doc's words (`Doc.to_array`), the vectorizer, the
    whole model, and writing doc.cats, each as µs per message and as a share of the
    tokenizer's own time per message; the tokenizer again with its docs held a batch at a
    time, as a component holds them; and the whole `nlp.pipe`.

    With --freeze-gc, the objects loaded so far are moved out of the garbage collector's
    reach (`gc.freeze()`), as a long-running annotation process may do: every full collection
    would otherwise traverse the loaded pipeline again."""
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    pipe = nlp.get_pipe(component)
    vectorizer = pipe.model.get_ref("vectorizer")
    texts, _ = read_gold(texts_path, nlp)
    if not texts:
        msg.fail(f"No texts in {texts_path}", exits=1)
    texts = texts * max(1, -(-min_messages // max(len(texts), 1)))
    docs = [nlp.make_doc(text) for text in texts]
    batches = [docs[start : start + batch_size] for start in range(0, len(docs), batch_size)]
    scores = [pipe.predict(batch) for batch in batches]
    if freeze_gc:
        gc.collect()
        gc.freeze()

    def tokenize() -> None:
        for text in texts:
            nlp.make_doc(text)

    def tokenize_held() -> None:
        for batch in minibatch(texts, batch_size):
            held = [nlp.make_doc(text) for text in batch]  # noqa: F841  (alive until the next batch)

    stages: Dict[str, Callable[[], object]] = {
        "tokenizer, one doc at a time (the reference)": tokenize,
        f"tokenizer, docs held {batch_size} at a time": tokenize_held,
        "Doc.to_array(ORTH) of each doc": lambda: [[doc.to_array(ORTH) for doc in batch] for batch in batches],
        "vectorizer (n-gram keys, lookups, weighting; includes to_array)": lambda: [
            vectorizer.predict(batch) for batch in batches
        ],
        "predict (vectorizer, torch)": lambda: [pipe.predict(batch) for batch in batches],
        "set_annotations (doc.cats)": lambda: [pipe.set_annotations(b, s) for b, s in zip(batches, scores)],
        f"nlp.pipe, batch_size={batch_size} (tokenizer and {component})": lambda: [
            doc.cats for doc in nlp.pipe(texts, batch_size=batch_size)
        ],
    }
    best = {name: float("inf") for name in stages}
    try:
        for _ in range(repeats):
            for name, run in stages.items():
                start = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - start)
    finally:
        # Called in-process (tests), the caller's objects go back to the collector.
        gc.unfreeze()
    per_message = {name: seconds / len(texts) * 1e6 for name, seconds in best.items()}
    reference = per_message["tokenizer, one doc at a time (the reference)"]
    header = ("stage", "µs / message", "of the tokenizer's time")
    rows: List[tuple] = [(name, f"{us:.2f}", f"{us / reference:.0%}") for name, us in per_message.items()]
    msg.table(rows, header=header, divider=True)
    command = f"python -m scripts profile-spam {model} {texts_path}" + (" --freeze-gc" if freeze_gc else "")
    note = (
        f"`{command}`: {len(texts):,} messages in "
        f"batches of {batch_size}, tokenized beforehand except in the first two and the last rows; one thread, the "
        f"stages timed in turns, best of {repeats}. A pipeline that adds x% of the tokenizer's "
        "time per message reads 1 / (1 + x) of the tokenizer-only speed, before the cost of "
        "holding a batch of docs (the second row)."
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown_table(header, rows) + "\n" + note + "\n", encoding="utf8")
    msg.good(f"Saved {output}")
