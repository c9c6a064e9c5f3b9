"""`benchmark-processes`: `nlp.pipe` with one and several processes on the same texts (the
robustness battery mixed in), every doc checked and every run compared with the first."""
import time
from contextlib import nullcontext
from itertools import cycle, islice
from pathlib import Path
from typing import List, Sequence, Tuple

import spacy
import torch
import typer
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from wasabi import msg

from spacy_ru_nn import one_torch_thread_in_workers

from ._app import app
from .robustness import battery_texts, doc_problems, doc_signature, huge_token_text, peak_rss_increase


@app.command("benchmark-processes")
def benchmark_processes(
    model: str = typer.Argument(..., help="Pipeline: a package name or a directory"),
    texts_path: Path = typer.Argument(..., help=".spacy DocBin whose texts are run", exists=True, dir_okay=False),
    n_texts: int = typer.Option(10_000, "--n-texts", help="Texts per run: the DocBin's cycled, plus the input battery"),
    processes: List[int] = typer.Option([1, 2], "--n-process", help="Process counts to compare (repeat the option)"),
    batch_size: int = typer.Option(64, "--batch-size", help="nlp.pipe batch size"),
    battery: bool = typer.Option(True, "--battery/--no-battery", help="Mix the robustness input battery into the texts"),
    sentences: bool = typer.Option(False, "--sentences", help="Use the DocBin's sentences as texts (e.g. factRuEval news articles)"),
    measure_memory: bool = typer.Option(True, "--memory/--no-memory", help="Also measure peak memory on a 100,000-token document"),
) -> None:
    """Throughput of `nlp.pipe` with 1 and 2 processes on the same texts, checking that every
    doc is valid and that all runs give identical annotations. Exits 1 otherwise."""
    # One torch thread in this process too, so that 1 vs N processes compares like with like.
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    base_docs = DocBin().from_disk(texts_path).get_docs(nlp.vocab)
    if sentences:
        base = [sent.text for doc in base_docs for sent in doc.sents if sent.text.strip()]
    else:
        base = [doc.text for doc in base_docs]
    if battery:
        texts = battery_texts(base, n_texts)
    else:
        texts = list(islice(cycle(base), n_texts))
    n_words = sum(len(doc) for doc in nlp.tokenizer.pipe(texts))
    msg.info(f"{model}: {len(texts):,} texts, {n_words:,} tokens, batch size {batch_size}")
    reference = None
    rows = []
    failed = False
    for n_process in processes:
        seconds, docs = _run_pipe(nlp, texts, n_process, batch_size)
        signatures = [doc_signature(doc) for doc in docs]
        if reference is None:
            reference = signatures
        same = len(signatures) == len(texts) and signatures == reference
        invalid = sum(bool(doc_problems(doc)) for doc in docs)
        failed = failed or not same or invalid > 0
        rows.append(
            (n_process, f"{seconds:.1f}", f"{n_words / seconds:,.0f}", f"{len(texts) / seconds:,.0f}",
             "yes" if same else "NO", invalid)
        )
    msg.table(rows, header=("processes", "seconds", "words/s", "texts/s", "same as first", "invalid docs"), divider=True)
    if measure_memory:
        huge = nlp.make_doc(huge_token_text())
        increase = peak_rss_increase(lambda: nlp(huge))
        if increase is None:
            msg.warn("Peak memory: /proc/self/clear_refs is not available here")
        else:
            msg.info(f"Peak resident memory rose by {increase / 2**20:.0f} MiB on a {len(huge):,}-token document")
    if failed:
        msg.fail("Runs disagree or produced invalid docs", exits=1)
    msg.good("All runs valid and identical")


def _run_pipe(nlp: Language, texts: Sequence[str], n_process: int, batch_size: int) -> Tuple[float, List[Doc]]:
    """Seconds and docs of one `nlp.pipe` pass."""
    start = time.perf_counter()
    # Forked workers on one torch thread each, as annotate runs them; one process as it is.
    with one_torch_thread_in_workers() if n_process > 1 else nullcontext():
        docs = list(nlp.pipe(texts, n_process=n_process, batch_size=batch_size))
    return time.perf_counter() - start, docs
