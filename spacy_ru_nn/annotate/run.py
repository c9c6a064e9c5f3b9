"""`annotate_corpus`: plan the units, open (or resume) the manifest, run an engine, summarise."""
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any, Dict, List, Optional

from wasabi import msg

from .annotator import ShardSettings, UnitAnnotator
from .inputs import InputFile, list_input_files, plan_units, sample_jsonl_fields
from .manifest import Manifest
from .outputs import FORMATS, input_fields_schema, write_errors

ENGINES = ("local", "ray")


def annotate_corpus(
    pipeline: str,
    input_path: Path,
    output: Path,
    *,
    fmt: str = "jsonl",
    text_field: str = "text",
    engine: str = "local",
    n_process: int = 1,
    batch_size: int = 64,
    shard_size: int = 1000,
    workers: int = 1,
    address: Optional[str] = None,
    progress: bool = True,
    no_progress_timeout_s: Optional[float] = None,
) -> Dict[str, Any]:
    """Annotate every record of `input_path` with `pipeline` into shards under `output`, or
    finish the run that `output` holds.

    pipeline (str): A package name or a directory; for Ray, one that loads on every node.
    input_path (Path): A .txt, .jsonl or .parquet file, or a folder of them.
    output (Path): A new or empty folder, or the folder of an interrupted run of the same
        arguments.
    fmt (str): "jsonl" or "parquet" shards.
    shard_size (int): Lines per unit (and shard) of text files; a Parquet row group is a unit.
    RETURNS (Dict[str, Any]): The run's summary, also written to `output/_summary.json`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: use one of {FORMATS}")
    if engine not in ENGINES:
        raise ValueError(f"Unknown engine {engine!r}: use one of {ENGINES}")
    if min(n_process, batch_size, shard_size, workers) < 1:
        raise ValueError("n_process, batch_size, shard_size and workers must be at least 1")
    _check_pipeline(pipeline)
    start = time.time()
    files, skipped = list_input_files(input_path, exclude=output)
    if skipped:
        msg.warn(f"Skipping {len(skipped)} file(s) that are not .txt, .jsonl or .parquet, e.g. {skipped[0]}")
    units, unreadable = plan_units(files, shard_size)
    run = {
        "pipeline": pipeline,
        "input": str(input_path.resolve()),
        "files": [[file.name, file.size, file.mtime_ns] for file in files],
        "format": fmt,
        "text_field": text_field,
        "shard_size": shard_size,
    }
    manifest = Manifest.open(output, run)
    order = sorted([unit.uid for unit in units] + [uid for uid, _ in unreadable])
    previous = manifest.read_summary()
    if previous is not None and all(uid in manifest.done for uid in order):
        # What OUTPUT holds, with this run's figures: it did nothing.
        return {**previous, "run": {"units": 0, "records": 0, "seconds": time.time() - start}}
    for uid, error in unreadable:
        if uid not in manifest.done:
            write_errors(output, uid, [error])
            manifest.commit({"unit": uid, "file": error["file"], "records": 0, "written": 0, "rejected": 0,
                             "reasons": {}, "unreadable": 1, "words": 0})
    n_records = sum(unit.n_records for unit in units)
    if n_records == 0:
        msg.warn(f"INPUT has no records: {len(files)} file(s), all empty or unreadable")
    pending = [unit for unit in units if unit.uid not in manifest.done]
    if len(pending) < len(units):
        msg.info(f"Resuming: {len(units) - len(pending)} of {len(units)} units are done, {len(pending)} to go")
    settings = ShardSettings(str(output.resolve()), fmt, text_field, batch_size, _input_schema(fmt, files, text_field))
    this_run: List[Dict[str, Any]] = []
    expected = {unit.uid: unit.n_records for unit in pending}

    bar = _progress_bar(progress, n_records, sum(unit.n_records for unit in units) - sum(expected.values()))

    def commit(summary: Dict[str, Any]) -> None:
        if summary["records"] != expected[summary["unit"]]:
            msg.warn(f"{summary['file']} changed during the run: unit {summary['unit']} had "
                     f"{expected[summary['unit']]} lines when planned, {summary['records']} when read")
        manifest.commit(summary)
        this_run.append(summary)
        if bar is not None:
            bar.update(summary["records"])

    try:
        if pending and engine == "local":
            import spacy

            from .local_engine import run_local

            annotator = UnitAnnotator(spacy.load(pipeline), settings)
            run_local(annotator, pending, commit, n_process=n_process)
        elif pending:
            from .ray_engine import run_ray

            run_ray(pipeline, settings, pending, commit, workers=workers, address=address,
                    no_progress_timeout_s=no_progress_timeout_s)
    except BaseException:
        # Interrupted or failed: OUTPUT keeps the committed shards only, as a reader should see it.
        with suppress(OSError):
            manifest.remove_uncommitted()
        raise
    finally:
        if bar is not None:
            bar.close()
    missing = [unit.uid for unit in pending if unit.uid not in manifest.done]
    if missing:
        raise RuntimeError(f"The engine returned without finishing units {missing[:5]}...: run again to resume")
    summary = _summarise(manifest, order, this_run, start)
    arguments = {key: value for key, value in run.items() if key != "files"}
    summary["run"] = {**arguments, "engine": engine, "n_process": n_process, "workers": workers, "batch_size": batch_size,
                      "address": address, **summary["run"]}
    manifest.complete(order, summary)
    return summary


def _check_pipeline(pipeline: str) -> None:
    from spacy.util import is_package

    if not (Path(pipeline).exists() or is_package(pipeline)):
        raise ValueError(f"Pipeline {pipeline!r} is neither a directory nor an installed package")


def _input_schema(fmt: str, files: List[InputFile], text_field: str):
    if fmt != "parquet":
        return None
    import pyarrow.parquet as pq

    parquet_schemas = []
    for file in files:
        if file.kind == "parquet":
            try:
                parquet_schemas.append(pq.read_schema(file.path))
            except (OSError, ValueError):
                pass  # an unreadable file: its error is in the errors file
    kinds = {file.kind for file in files}
    return input_fields_schema(kinds, text_field, parquet_schemas, sample_jsonl_fields(files, text_field))


def _progress_bar(enabled: bool, total: int, initial: int):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit=" docs", smoothing=0.1, dynamic_ncols=True)


def _summarise(manifest: Manifest, order: List[str], this_run: List[Dict[str, Any]], start: float) -> Dict[str, Any]:
    units = [manifest.done[uid] for uid in order]
    reasons: Counter = Counter()
    for unit in units:
        reasons.update(unit["reasons"])
    summary: Dict[str, Any] = {
        "records": sum(unit["records"] for unit in units),
        "written": sum(unit["written"] for unit in units),
        "rejected": sum(unit["rejected"] for unit in units),
        "reasons": dict(reasons.most_common()),
        "unreadable_files": sum(unit.get("unreadable", 0) for unit in units),
        "shards": sum(1 for unit in units if not unit.get("unreadable")),
        "words": sum(unit["words"] for unit in units),
    }
    timed = [unit for unit in this_run if "started" in unit]
    run: Dict[str, Any] = {"units": len(this_run), "records": sum(unit["records"] for unit in this_run),
                           "seconds": time.time() - start}
    if timed:
        # Throughput from the first unit's start: what a longer corpus converges to. Startup
        # (loading, starting workers) is the time before it.
        first, last = min(u["started"] for u in timed), max(u["finished"] for u in timed)
        seconds = max(last - first, 1e-9)
        run.update({
            "startup_seconds": first - start,
            "first_unit_started_at": first,
            "annotate_seconds": seconds,
            "docs_per_second": sum(u["records"] for u in timed) / seconds,
            "words_per_second": sum(u["words"] for u in timed) / seconds,
            "workers_seen": len({u["pid"] for u in timed}),
        })
    summary["run"] = run
    return summary


__all__ = ["ENGINES", "annotate_corpus"]
