"""`annotate`: stream a corpus through a pipeline into JSONL or Parquet shards, on this machine
or a Ray cluster, with every record accounted for and resumable runs."""
from pathlib import Path
from typing import Any, Dict, Optional

import typer
from wasabi import msg

from ..annotate import ENGINES, FORMATS, InputError, ManifestMismatch, annotate_corpus
from ..annotate.ray_engine import ClusterAuthError
from ._app import app


@app.command("annotate")
def annotate(
    pipeline: str = typer.Argument(..., help="Pipeline: a package name or a directory (for Ray: loadable on every node)"),
    input_path: Path = typer.Argument(..., help="A .txt (one text per line), .jsonl or .parquet file, or a folder of them"),
    output: Path = typer.Argument(..., help="Output folder: shards, _errors.jsonl, _manifest.jsonl, _summary.json"),
    fmt: str = typer.Option("jsonl", "--format", help=f"Shard format: {', '.join(FORMATS)}"),
    text_field: str = typer.Option("text", "--text-field", help="Field (.jsonl) or column (.parquet) holding the text"),
    engine: str = typer.Option("local", "--engine", help=f"Engine: {', '.join(ENGINES)} (ray needs spacy-ru-nn[ray])"),
    n_process: int = typer.Option(1, "--n-process", help="Local engine: nlp.pipe processes"),
    batch_size: int = typer.Option(64, "--batch-size", help="nlp.pipe batch size"),
    shard_size: int = typer.Option(1000, "--shard-size", help="Lines per shard of text inputs (a Parquet row group is one shard)"),
    workers: int = typer.Option(1, "--workers", help="Ray engine: actors, each loading the pipeline once and using one CPU"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray engine: join this cluster ('auto' or HOST:PORT) instead of starting one"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
) -> None:
    """Annotate every record of INPUT with PIPELINE into OUTPUT: one row per record (its fields,
    `ents`, `cats`, `_file`, `_line`) or one row of OUTPUT/_errors.jsonl (file, line, reason).
    Run the same command again to resume an interrupted run."""
    try:
        summary = annotate_corpus(
            pipeline, input_path, output, fmt=fmt, text_field=text_field, engine=engine, n_process=n_process,
            batch_size=batch_size, shard_size=shard_size, workers=workers, address=address, progress=progress,
        )
    except (InputError, ManifestMismatch, ValueError, ClusterAuthError) as err:
        msg.fail(str(err), exits=1)
    except KeyboardInterrupt:
        msg.fail(f"Interrupted: run the same command again to resume (finished shards are kept in {output})", exits=130)
    print_summary(summary, output)


def print_summary(summary: Dict[str, Any], output: Path) -> None:
    run = summary["run"]
    msg.good(
        f"{summary['records']:,} records read: {summary['written']:,} written to {summary['shards']:,} shard(s) "
        f"in {output}, {summary['rejected']:,} rejected"
    )
    if summary["rejected"] or summary["unreadable_files"]:
        reasons = ", ".join(f"{kind} {count:,}" for kind, count in summary["reasons"].items())
        unreadable = f"; {summary['unreadable_files']} unreadable file(s)" if summary["unreadable_files"] else ""
        msg.warn(f"Rejected: {reasons or 'none'}{unreadable}; see {output / '_errors.jsonl'}")
    if "docs_per_second" in run:
        msg.info(
            f"This run: {run['records']:,} records in {run['seconds']:.1f} s ({run['startup_seconds']:.1f} s to start), "
            f"{run['docs_per_second']:,.0f} docs/s, {run['words_per_second']:,.0f} words/s"
        )


__all__ = ["annotate", "print_summary"]
