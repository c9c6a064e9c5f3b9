"""`benchmark-annotate`: `annotate` over 100,000 texts with each engine, one table.

Every run is the user command in its own process (one thread per native pool), so startup,
throughput and memory are what a user gets. Peak memory is the proportional set size (PSS:
shared pages split between the processes sharing them) of the whole process tree, sampled:
the driver, forked `nlp.pipe` workers, and a local Ray instance with its actors. Throughput
counts from the first unit's start, after loading and starting workers (startup, its own
column). A baseline process runs plain `nlp.pipe` over the same texts in memory. Repeats are
interleaved and the table shows medians; the ratios are computed within this one run.
"""
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import typer
from wasabi import msg

from ._app import app
from spacy_ru_nn.tables import markdown_table
from ._subprocess import ONE_THREAD

# Each Ray run starts its own local instance: on loopback only, with token auth as README's
# cluster recipe sets it (the token file is the work dir's `ray_token`), no telemetry.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}
ENGINES: List[Tuple[str, List[str]]] = [
    ("local, 1 process", ["--engine", "local", "--n-process", "1"]),
    ("local, 2 processes", ["--engine", "local", "--n-process", "2"]),
    ("Ray, 1 worker", ["--engine", "ray", "--workers", "1"]),
    ("Ray, 2 workers", ["--engine", "ray", "--workers", "2"]),
]
BASELINE = "nlp.pipe, 1 process, in memory"
PLAIN_PIPE = """
import json, sys, time
import torch
torch.set_num_threads(1)
import spacy
nlp = spacy.load(sys.argv[1])
torch.set_num_threads(1)
texts = open(sys.argv[2], encoding="utf8").read().split("\\n")[:-1]
start = time.perf_counter()
n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=int(sys.argv[3])))
print(json.dumps({"seconds": time.perf_counter() - start, "docs": len(texts), "words": n_words}))
"""


def write_texts(texts: List[str], n_texts: int, path: Path) -> Path:
    """`n_texts` lines, `texts` repeated (newlines inside a text become spaces)."""
    lines = [text.strip().replace("\n", " ").replace("\r", " ") for text in texts]
    with path.open("w", encoding="utf8") as f:
        for i in range(n_texts):
            f.write(lines[i % len(lines)] + "\n")
    return path


def write_ray_token(path: Path) -> Path:
    """A new Ray token (256 random bits, like `ray get-auth-token --generate`) that only its
    owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path


def corpus_texts(docbin: Path, lang: str, sentences: bool) -> List[str]:
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(docbin).get_docs(spacy.blank(lang).vocab)
    if sentences:
        return [sent.text for doc in docs for sent in doc.sents if sent.text.strip()]
    return [doc.text for doc in docs if doc.text.strip()]


class TreeMemorySampler:
    """Peak summed PSS of a process and all its descendants, sampled every `interval` s."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeMemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_pss(pid) for pid in _descendants(self.pid)))
            self._stop.wait(self.interval)


def _descendants(root: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def read_rows(output: Path) -> List[Dict[str, Any]]:
    rows = []
    for shard in sorted(output.glob("part-*.jsonl")):
        with shard.open(encoding="utf8") as f:
            rows.extend(json.loads(line) for line in f)
    return rows


def same_rows(rows: List[Dict[str, Any]], reference: List[Dict[str, Any]], tolerance: float = 1e-5) -> bool:
    """Equal rows, except that `cats` scores may differ by `tolerance`: a float32 matmul's
    last bit depends on the batch a text is in (`nlp.pipe` across shards locally, within
    each shard on Ray)."""
    if len(rows) != len(reference):
        return False
    for row, ref in zip(rows, reference):
        cats, ref_cats = row.get("cats", {}), ref.get("cats", {})
        if {k: v for k, v in row.items() if k != "cats"} != {k: v for k, v in ref.items() if k != "cats"}:
            return False
        if cats.keys() != ref_cats.keys() or any(abs(cats[k] - ref_cats[k]) > tolerance for k in cats):
            return False
    return True


def run_annotate(pipeline: str, input_path: Path, output: Path, options: List[str], batch_size: int,
                 shard_size: int) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """One `annotate` in its own process: its summary, peak memory and startup seconds, and
    the rows it wrote."""
    shutil.rmtree(output, ignore_errors=True)
    command = [
        sys.executable, "-m", "spacy_ru_nn", "annotate", pipeline, str(input_path), str(output), "--no-progress",
        "--batch-size", str(batch_size), "--shard-size", str(shard_size), *options,
    ]  # fmt: skip
    launched = time.time()
    proc = subprocess.Popen(command, env={**os.environ, **ONE_THREAD, **RAY_ENV}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    with TreeMemorySampler(proc.pid) as sampler:
        log, _ = proc.communicate()
    if proc.returncode != 0:
        msg.fail(f"annotate failed: {' '.join(command)}\n{log[-3000:]}", exits=1)
    summary = json.loads((output / "_summary.json").read_text(encoding="utf8"))
    run = summary["run"]
    return {
        "records": summary["records"],
        "rejected": summary["rejected"],
        "docs_per_second": run["docs_per_second"],
        "words_per_second": run["words_per_second"],
        "startup_seconds": run["first_unit_started_at"] - launched,
        "seconds": time.time() - launched,
        "peak_memory": sampler.peak,
    }, read_rows(output)


def run_plain_pipe(pipeline: str, input_path: Path, batch_size: int) -> Dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", PLAIN_PIPE, pipeline, str(input_path), str(batch_size)],
                            env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return {"docs_per_second": out["docs"] / out["seconds"], "words_per_second": out["words"] / out["seconds"]}


@app.command("benchmark-annotate")
def benchmark_annotate(
    ner_pipeline: str = typer.Argument(..., help="NER pipeline (e.g. training/ner/model-last)"),
    ner_docbin: Path = typer.Argument(..., help="NER texts: a .spacy DocBin whose sentences are repeated", exists=True, dir_okay=False),
    spam_pipeline: str = typer.Argument(..., help="Spam pipeline (e.g. training/spam/model-best)"),
    spam_docbin: Path = typer.Argument(..., help="Spam texts: a .spacy DocBin whose messages are repeated", exists=True, dir_okay=False),
    n_texts: int = typer.Option(100_000, "--n-texts", help="Texts per run"),
    memory_texts: int = typer.Option(10_000, "--memory-texts", help="Texts of the smaller runs the peak memory is compared with"),
    repeats: int = typer.Option(2, "--repeats", help="Interleaved repeats of every run (the table shows medians)"),
    batch_size: int = typer.Option(64, "--batch-size", help="nlp.pipe batch size"),
    shard_size: int = typer.Option(1000, "--shard-size", help="Texts per unit and shard"),
    work_dir: Path = typer.Option(Path("training/annotate_benchmark"), "--work-dir", help="Inputs and outputs of the runs (deleted first)"),
    output: Optional[Path] = typer.Option(None, "--output", help="Write the Markdown table here"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write every measurement here"),
) -> None:
    """Docs/s, words/s, peak memory and startup of `annotate` with each engine on `n_texts`
    NER and spam texts, against plain `nlp.pipe`; exits 1 if two engines write different rows."""
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(write_ray_token(work_dir / "ray_token"))
    tasks = {
        "NER": (ner_pipeline, corpus_texts(ner_docbin, "ru", sentences=True)),
        "spam": (spam_pipeline, corpus_texts(spam_docbin, "en", sentences=False)),
    }
    inputs = {task: write_texts(texts, n_texts, work_dir / f"{task}_{n_texts}.txt") for task, (_, texts) in tasks.items()}
    small_input = write_texts(tasks["NER"][1], memory_texts, work_dir / f"NER_{memory_texts}.txt")
    memory_engines = [ENGINES[0], ENGINES[3]]
    results: Dict[str, List[Dict[str, Any]]] = {}
    reference: Dict[str, List[Dict[str, Any]]] = {}
    same = {task: True for task in tasks}
    for repeat in range(repeats):
        for task, (pipeline, _) in tasks.items():
            key = f"{task} | {BASELINE}"
            results.setdefault(key, []).append(run_plain_pipe(pipeline, inputs[task], batch_size))
            for name, options in ENGINES:
                msg.text(f"[{repeat + 1}/{repeats}] {task}: {name}")
                run, rows = run_annotate(pipeline, inputs[task], work_dir / "out", options, batch_size, shard_size)
                results.setdefault(f"{task} | {name}", []).append(run)
                reference.setdefault(task, rows)
                same[task] = same[task] and same_rows(rows, reference[task])
                del rows
        for name, options in memory_engines:
            run, _ = run_annotate(tasks["NER"][0], small_input, work_dir / "out", options, batch_size, shard_size)
            results.setdefault(f"NER {memory_texts} | {name}", []).append(run)
    shutil.rmtree(work_dir / "out", ignore_errors=True)

    def median(key: str, field: str) -> float:
        return statistics.median(run[field] for run in results[key])

    header = ("task", "engine", "docs/s", "words/s", "peak memory (MiB)", "startup (s)")
    rows = []
    for task in tasks:
        rows.append((task, BASELINE, f"{median(f'{task} | {BASELINE}', 'docs_per_second'):,.0f}",
                     f"{median(f'{task} | {BASELINE}', 'words_per_second'):,.0f}", "", ""))
        for name, _ in ENGINES:
            key = f"{task} | {name}"
            rows.append((task, name, f"{median(key, 'docs_per_second'):,.0f}", f"{median(key, 'words_per_second'):,.0f}",
                         f"{median(key, 'peak_memory') / 2**20:,.0f}", f"{median(key, 'startup_seconds'):.1f}"))
    table = markdown_table(header, rows)
    ratios: Dict[str, float] = {}
    for task in tasks:
        ray1, ray2 = median(f"{task} | Ray, 1 worker", "docs_per_second"), median(f"{task} | Ray, 2 workers", "docs_per_second")
        plain = median(f"{task} | {BASELINE}", "docs_per_second")
        local1 = median(f"{task} | local, 1 process", "docs_per_second")
        ratios[f"{task}: Ray 2 workers / Ray 1 worker (docs/s)"] = ray2 / ray1
        ratios[f"{task}: Ray 1 worker / plain nlp.pipe"] = ray1 / plain
        ratios[f"{task}: Ray 2 workers per worker / plain nlp.pipe"] = ray2 / 2 / plain
        ratios[f"{task}: local 1 process / plain nlp.pipe"] = local1 / plain
    for name, _ in memory_engines:
        big, small = median(f"NER | {name}", "peak_memory"), median(f"NER {memory_texts} | {name}", "peak_memory")
        ratios[f"NER, {name}: peak memory {n_texts:,} / {memory_texts:,} texts"] = big / small
    print(table)
    msg.table([(name, f"{value:.2f}x") for name, value in ratios.items()], header=("ratio (one run)", "value"), divider=True)
    for task, ok in same.items():
        (msg.good if ok else msg.fail)(f"{task}: every engine wrote {'the same' if ok else 'DIFFERENT'} rows "
                                       f"({n_texts:,} texts, {repeats} repeat(s))")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        ratio_lines = "".join(f"- {name}: {value:.2f}x\n" for name, value in ratios.items())
        output.write_text(table + "\n" + ratio_lines, encoding="utf8")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"runs": results, "ratios": ratios, "same_rows": same}, indent=2) + "\n", encoding="utf8")
    if not all(same.values()):
        raise typer.Exit(1)


__all__ = ["benchmark_annotate"]
