"""`--engine local`: one `nlp.pipe` stream over every pending unit, in this process or in
`--n-process` forked ones. `nlp.pipe` keeps the input order, so a unit is complete (and is
written and committed) as soon as the doc of its last record comes back.

The stream is of plain texts, not `as_tuples`: with contexts, spaCy makes (tokenizes) each
doc in the main process and serializes it to the workers, which makes two processes slower
than one."""
import multiprocessing
import time
import warnings
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Sequence

from spacy.tokens import Doc
from wasabi import msg

from .annotator import UnitAnnotator
from .inputs import Record, Unit

Commit = Callable[[Dict[str, Any]], None]


@dataclass
class _OpenUnit:
    unit: Unit
    records: List[Record]
    rejected: List[Dict[str, Any]]
    n_read: int
    started: float
    docs: List[Optional[Doc]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.docs) == len(self.records)


def run_local(annotator: UnitAnnotator, units: Sequence[Unit], commit: Commit, n_process: int = 1) -> None:
    """Annotate `units` in input order, calling `commit` with each one's summary once its
    shard is written. If the stream fails (a pipeline error, a worker process lost), the units
    not yet committed are done one at a time in this process, where a failing record is
    rejected on its own."""
    open_units: Deque[_OpenUnit] = deque()
    remaining = iter(units)

    def texts() -> Iterator[str]:
        for unit in remaining:
            records, rejected = annotator.read(unit)
            open_units.append(_OpenUnit(unit, records, rejected, len(records) + len(rejected), time.time()))
            for record in records:
                yield record.text

    def flush() -> None:
        while open_units and open_units[0].complete:
            done = open_units[0]
            try:
                commit(annotator.finish(done.unit, done.n_read, done.records, done.docs, done.rejected, done.started))
            except Exception as err:
                raise _WriteFailed() from err
            open_units.popleft()

    nlp = annotator.nlp
    if n_process > 1:
        from .workers import forked_workers

        forking = forked_workers()
    else:
        forking = nullcontext()
    before = set(multiprocessing.active_children())
    try:
        with forking, warnings.catch_warnings():
            # W127, "not all worker processes completed successfully": a stream that ends
            # early stops its workers; a stream that fails is redone below.
            warnings.filterwarnings("ignore", message=r"\[W127\]")
            docs = nlp.pipe(texts(), batch_size=annotator.settings.batch_size, n_process=n_process)
            try:
                for doc in docs:
                    flush()
                    open_units[0].docs.append(doc)
            except BaseException:
                # Failed or interrupted in this loop, with the stream paused at a doc: its
                # workers are stopped at once, not after the batches they hold.
                for worker in set(multiprocessing.active_children()) - before:
                    worker.terminate()
                docs.close()
                raise
        flush()
    except _WriteFailed as failed:
        # Not the pipeline: writing or committing failed, and would fail again.
        raise failed.__cause__
    except Exception as err:
        left = [open_unit.unit for open_unit in open_units] + list(remaining)
        msg.warn(
            f"The nlp.pipe stream failed ({type(err).__name__}: {err}); annotating the {len(left)} "
            "units left one record at a time where a batch fails"
        )
        for unit in left:
            commit(annotator.annotate(unit))


class _WriteFailed(Exception):
    pass


__all__ = ["run_local"]
