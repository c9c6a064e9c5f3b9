"""`benchmark-ner`: our pipeline, spaCy's built-in `ner` and natasha/slovnet, scored and timed
in one run on the same testset.

Each system runs in its own subprocess, so load time and peak memory are its own, and every
process gets one thread (torch, BLAS, OpenMP). Speed is end to end from raw text after
loading; words are the tokens of the gold testset (as `convert factru` tokenized it) for every system, so the rates compare.
"""
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import typer
from spacy_ru_nn.compat import parse_config_overrides
from wasabi import msg

from ._app import app
from spacy_ru_nn.ner_metrics import error_breakdown, error_table, read_training_mentions, token_io_prf
from spacy_ru_nn.tables import markdown_table
from ._subprocess import one_thread_env

SLOVNET = "slovnet"


def _dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _score(gold_docs, predicted_docs, seen: Optional[Dict] = None) -> Dict:
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    examples = [Example(pred, ref) for pred, ref in zip(predicted_docs, gold_docs)]
    return {
        "entity": get_ner_prf(examples),
        "token_io": token_io_prf(examples),
        "errors": error_breakdown(examples, seen),
    }


def _run_spacy(model: str, texts: List[str], overrides: Dict[str, Any], exclude: List[str]):
    import spacy

    start = time.perf_counter()
    nlp = spacy.load(model, config=overrides, exclude=exclude)
    load_seconds = time.perf_counter() - start
    nlp(texts[0])  # warm-up: lazy allocations
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=64))
    return docs, load_seconds, time.perf_counter() - start, _dir_size(Path(model))


def _run_slovnet(texts: List[str], vocab):
    import spacy
    from natasha import Doc, NewsEmbedding, NewsNERTagger, Segmenter
    from natasha.data import NEWS_EMBEDDING, NEWS_NER
    from spacy.util import filter_spans

    start = time.perf_counter()
    segmenter, tagger = Segmenter(), NewsNERTagger(NewsEmbedding())
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    spans = []
    for text in texts:
        doc = Doc(text)
        doc.segment(segmenter)
        doc.tag_ner(tagger)
        spans.append([(s.start, s.stop, s.type) for s in doc.spans])
    seconds = time.perf_counter() - start
    # Scoring only: slovnet's character spans onto spaCy tokens of the same text.
    nlp = spacy.blank("ru", vocab=vocab)
    docs = []
    for text, doc_spans in zip(texts, spans):
        doc = nlp.make_doc(text)
        ents = [doc.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in doc_spans]
        doc.ents = filter_spans([ent for ent in ents if ent is not None])
        docs.append(doc)
    size = _dir_size(Path(NEWS_EMBEDDING)) + _dir_size(Path(NEWS_NER))
    return docs, load_seconds, seconds, size


@app.command("benchmark-ner-one", hidden=True)
def benchmark_ner_one(
    system: str = typer.Argument(..., help="'slovnet' or a spaCy pipeline name or path"),
    data_path: Path = typer.Argument(..., help=".spacy file with gold entities", exists=True, dir_okay=False),
    overrides: List[str] = typer.Option([], "--override", help="section.key=value for spacy.load"),
    exclude: List[str] = typer.Option([], "--exclude", help="A component not to load"),
    train_path: Optional[Path] = typer.Option(
        None, "--train-path", help=".spacy training data, for recall on seen and unseen mentions",
        exists=True, dir_okay=False,
    ),
) -> None:
    """Run one system and print its result as JSON (called by benchmark-ner)."""
    import torch
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    torch.set_num_threads(1)
    vocab = Vocab()
    gold = list(DocBin().from_disk(data_path).get_docs(vocab))
    texts = [doc.text for doc in gold]
    if system == SLOVNET:
        docs, load_seconds, seconds, size = _run_slovnet(texts, vocab)
    else:
        config = parse_config_overrides([f"--{override}" for override in overrides], env_var=None)
        docs, load_seconds, seconds, size = _run_spacy(system, texts, config, exclude)
    n_words = sum(len(doc) for doc in gold)
    seen = read_training_mentions(train_path) if train_path is not None else None
    result = {
        **_score(gold, docs, seen),
        "words": n_words,
        "seconds": seconds,
        "words_per_second": n_words / seconds,
        "load_seconds": load_seconds,
        "size_mb": size / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))


@app.command("benchmark-ner")
def benchmark_ner(
    data_path: Path = typer.Argument(
        ..., help=".spacy file with gold entities (the factRuEval testset)", exists=True, dir_okay=False
    ),
    pipelines: List[str] = typer.Option([], "--pipeline", "-p", help="NAME=PATH of a spaCy pipeline; repeatable"),
    overrides: List[str] = typer.Option(
        [], "--override", help="NAME:section.key=value, a config override for pipeline NAME; repeatable"
    ),
    excludes: List[str] = typer.Option(
        [], "--exclude", help="NAME:component, a component pipeline NAME is loaded without; repeatable"
    ),
    slovnet: bool = typer.Option(True, help="Also run natasha/slovnet as shipped"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown table"),
    json_output: Optional[Path] = typer.Option(None, "--json", help="All numbers as JSON"),
    repeats: int = typer.Option(3, help="Fresh processes per system, interleaved; the median speed is reported"),
    train_path: Optional[Path] = typer.Option(
        None, "--train-path", help=".spacy training data: adds a table of errors, recall on seen and unseen mentions",
        exists=True, dir_okay=False,
    ),
) -> None:
    """Score and time every system on one machine in one run; print one table.

    Each repeat runs every system once, in turn, in a fresh process (cold caches), so that a
    burst of load on the machine hits all systems alike; the table reports the median run.
    """
    systems: Dict[str, str] = {}
    for spec in pipelines:
        name, _, path = spec.partition("=")
        systems[name] = path or name
    overrides_of: Dict[str, List[str]] = {name: [] for name in systems}
    for spec in overrides:
        name, _, override = spec.partition(":")
        if name not in systems or "=" not in override:
            msg.fail(f"--override {spec!r}: expected NAME:section.key=value for a --pipeline NAME", exits=1)
        overrides_of[name] += ["--override", override]
    for spec in excludes:
        name, _, component = spec.partition(":")
        if name not in systems or not component:
            msg.fail(f"--exclude {spec!r}: expected NAME:component for a --pipeline NAME", exits=1)
        overrides_of[name] += ["--exclude", component]
    if slovnet:
        systems["natasha/slovnet"] = SLOVNET
    runs: Dict[str, List[Dict]] = {name: [] for name in systems}
    for repeat in range(max(1, repeats)):
        for name, system in systems.items():
            msg.info(f"Running {name} ({repeat + 1}/{repeats})")
            env = one_thread_env()
            cmd = [sys.executable, "-m", "scripts", "benchmark-ner-one", system, str(data_path)]
            cmd += overrides_of.get(name, [])
            if train_path is not None:
                cmd += ["--train-path", str(train_path)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                msg.fail(f"{name} failed", proc.stderr[-2000:], exits=1)
            runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    results = {name: median_run(system_runs) for name, system_runs in runs.items()}
    header, rows = _table(results)
    msg.table(rows, header=header, divider=True)
    markdown = markdown_table(header, rows)
    if train_path is not None:
        error_header, error_rows = error_table({name: r["errors"] for name, r in results.items()})
        msg.table(error_rows, header=error_header, divider=True)
        markdown += "\n" + markdown_table(error_header, error_rows)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown, encoding="utf8")
        msg.good(f"Saved the table to {output}")
    if json_output is not None:
        json_output.parent.mkdir(parents=True, exist_ok=True)
        json_output.write_text(json.dumps(results, indent=2), encoding="utf8")


def median_run(runs: List[Dict]) -> Dict:
    """The run with the median speed (the upper one of an even count), with every speed kept."""
    by_speed = sorted(runs, key=lambda r: r["words_per_second"])
    return {**by_speed[len(by_speed) // 2], "words_per_second_runs": [r["words_per_second"] for r in runs]}


def _table(results: Dict[str, Dict]):
    labels = ("PER", "LOC", "ORG")
    header = (
        "system", "P", "R", "F",
        *(f"F {label}" for label in labels),
        *(f"IO F {label}" for label in labels),
        "words/s", "x slovnet", "load s", "MB", "peak RSS MB",
    )  # fmt: skip
    slovnet_speed = results.get("natasha/slovnet", {}).get("words_per_second")
    rows = []
    for name, r in results.items():
        entity, token = r["entity"], r["token_io"]["per_type"]
        per_type = entity["ents_per_type"]
        rows.append((
            name,
            f"{entity['ents_p']:.3f}", f"{entity['ents_r']:.3f}", f"{entity['ents_f']:.3f}",
            *(f"{per_type.get(label, {}).get('f', 0.0):.3f}" for label in labels),
            *(f"{token.get(label, {}).get('f', 0.0):.3f}" for label in labels),
            f"{r['words_per_second']:,.0f}",
            f"{r['words_per_second'] / slovnet_speed:.2f}" if slovnet_speed else "-",
            f"{r['load_seconds']:.1f}", f"{r['size_mb']:.1f}", f"{r['peak_rss_mb']:.0f}",
        ))  # fmt: skip
    return header, rows
