"""`annotate`: stream a corpus through a pipeline into JSONL or Parquet shards, on this machine
or a Ray cluster, with every record accounted for and resumable runs."""
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, NoReturn, Optional

import typer
from wasabi import msg

from ._app import app


@app.command("annotate")
def annotate(
    pipeline: str = typer.Argument(
        ..., help="The spaCy pipeline: an installed package (ru_nn_ner) or a pipeline folder. With --engine ray, "
        "every machine of the cluster must have the package installed or the folder at the same path"),
    input_path: Path = typer.Argument(
        ..., help="A .txt file (one text per line), a .jsonl file (one JSON object per line), a .parquet file, "
        "or a folder searched for them"),
    output: Path = typer.Argument(
        ..., help="A new or empty folder for the shards (part-*), _errors.jsonl (rejected records), "
        "_manifest.jsonl and _summary.json; or the folder of an interrupted run, to resume it"),
    fmt: str = typer.Option("jsonl", "--format", help="File format of the shards: jsonl or parquet"),
    text_field: str = typer.Option(
        "text", "--text-field", help="The field of a .jsonl object, or the column of a .parquet file, that holds "
        "the text (.txt lines are the text)"),
    # No square brackets in help texts: typer's rich output reads "[ray]" as markup and drops it.
    engine: str = typer.Option(
        "local", "--engine", help="Where the pipeline runs: 'local' on this machine (see --n-process), or 'ray' "
        "on a Ray cluster (see --workers, --address; needs Ray: install spacy-ru-nn with its ray extra)"),
    n_process: int = typer.Option(
        1, "--n-process", help="Local engine: worker processes, each with its own copy of the pipeline in memory; "
        "they stop with the command"),
    batch_size: int = typer.Option(
        64, "--batch-size", help="Texts the pipeline annotates at a time (nlp.pipe batch_size)"),
    shard_size: int = typer.Option(
        1000, "--shard-size", help="Lines of a .txt or .jsonl file per output shard, the unit of work that an "
        "interrupted run resumes from (each row group of a .parquet file is one shard)"),
    workers: int = typer.Option(
        1, "--workers", help="Ray engine: pipeline copies running at once, one CPU each, anywhere in the cluster"),
    address: Optional[str] = typer.Option(
        None, "--address", help="Ray engine: the cluster to run on, HOST:PORT of its head or 'auto' for the one "
        "this machine belongs to; without it, a Ray instance on this machine only, for this run"),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show a progress bar of the records done, on stderr"),
) -> None:
    """Annotate every record of INPUT with PIPELINE into OUTPUT: one row per record (its fields,
    `ents` and/or `cats`, `_file`, `_line`) or one row of OUTPUT/_errors.jsonl (file, line,
    reason). Run the same command again to resume an interrupted run."""
    from ..annotate import InputError, ManifestMismatch, annotate_corpus
    from ..annotate.ray_engine import ClusterAuthError

    with _sigterm_interrupts() as signals:
        try:
            summary = annotate_corpus(
                pipeline, input_path, output, fmt=fmt, text_field=text_field, engine=engine, n_process=n_process,
                batch_size=batch_size, shard_size=shard_size, workers=workers, address=address, progress=progress,
            )
        # Before OSError: a refused token is a ConnectionError.
        except (InputError, ManifestMismatch, ValueError, ClusterAuthError) as err:
            _fail(str(err), 1)
        except OSError as err:
            # A write's error names no file: the output is where it happened.
            _fail(f"{err.strerror or err} ({err.filename or output}): the finished shards are kept in {output}; "
                  "fix this and run the same command again to resume", 1)
        except KeyboardInterrupt:
            name = "SIGTERM" if signals else "Ctrl-C"
            _fail(f"Stopped by {name}: the finished shards are kept in {output}; "
                  "run the same command again to resume", 128 + (signals[0] if signals else signal.SIGINT))
    print_summary(summary, output)


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr, however long (wasabi wraps at 80 columns), and exit."""
    typer.secho(f"\u2718 {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextmanager
def _sigterm_interrupts() -> Iterator[List[int]]:
    """Stop on SIGTERM (`kill`, a job scheduler) as on Ctrl-C: the run removes what it left
    half done and stops its workers. Yields the signals received."""
    received: List[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def interrupt(signum, frame):
        received.append(signum)
        # A second SIGTERM stops at once.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def print_summary(summary: Dict[str, Any], output: Path) -> None:
    run = summary["run"]
    counts = (f"{summary['records']:,} records read: {summary['written']:,} written to {summary['shards']:,} "
              f"shard(s) in {output}, {summary['rejected']:,} rejected")
    if run["units"] == 0:
        msg.good(f"Nothing to do, the run is complete: {counts}")
    else:
        msg.good(counts)
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
