"""One unit through a loaded pipeline: read, annotate, write, summarise. Both engines end
every unit here, so their shards are the same whatever runs them."""
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from .inputs import Record, Unit, read_unit, rejection, rejection_kind
from .outputs import annotations_set_by, doc_row, parquet_schema, write_unit

if TYPE_CHECKING:
    import pyarrow


@dataclass(frozen=True)
class ShardSettings:
    """What every worker needs besides the pipeline: plain values, cheap to send to Ray."""

    output: str
    fmt: str = "jsonl"
    text_field: str = "text"
    batch_size: int = 64
    # The input's columns, for Parquet output (None for JSONL).
    input_schema: Optional["pyarrow.Schema"] = None


class UnitAnnotator:
    """A loaded pipeline and the settings of a run: turns units into shards."""

    def __init__(self, nlp: Language, settings: ShardSettings):
        self.nlp = nlp
        self.settings = settings
        self.output = Path(settings.output)
        self.with_ents, self.with_cats = annotations_set_by(nlp)
        self.schema = None
        if settings.fmt == "parquet":
            self.schema = parquet_schema(settings.input_schema, self.with_ents, self.with_cats)

    def read(self, unit: Unit) -> Tuple[List[Record], List[Dict[str, Any]]]:
        return read_unit(unit, self.settings.text_field, self.nlp.max_length)

    def annotate(self, unit: Unit) -> Dict[str, Any]:
        """Read, annotate and write one unit. A batch the pipeline fails on is redone one
        record at a time, so that only the records it fails on are rejected."""
        started = time.time()
        records, rejected = self.read(unit)
        n_read = len(records) + len(rejected)
        texts = [record.text for record in records]
        try:
            docs: List[Optional[Doc]] = list(self.nlp.pipe(texts, batch_size=self.settings.batch_size))
        except Exception:
            docs = [self._one(record, rejected, unit) for record in records]
        return self.finish(unit, n_read, records, docs, rejected, started)

    def _one(self, record: Record, rejected: List[Dict[str, Any]], unit: Unit) -> Optional[Doc]:
        try:
            return self.nlp(record.text)
        except Exception as err:
            rejected.append(rejection(unit.name, record.line, "pipeline error", f"{type(err).__name__}: {err}"))
            return None

    def finish(self, unit: Unit, n_read: int, records: List[Record], docs: Iterable[Optional[Doc]],
               rejected: List[Dict[str, Any]], started: float) -> Dict[str, Any]:
        """Write the unit's rows and errors; its summary is the manifest line that commits it.

        n_read (int): The unit's lines (rows) as read, good or not.
        docs (Iterable[Optional[Doc]]): One per record, None where the pipeline failed on it.
        """
        rows, n_words = [], 0
        for record, doc in zip(records, docs):
            if doc is not None:
                rows.append(doc_row(doc, record, unit.name, self.with_ents, self.with_cats))
                n_words += len(doc)
        rejected.sort(key=lambda error: error["line"])
        written, n_rejected = write_unit(self.output, unit, rows, rejected, self.settings.fmt, self.schema)
        if written + n_rejected != n_read:
            raise RuntimeError(f"Unit {unit.uid}: {n_read} records read, {written} written, {n_rejected} rejected")
        return {
            "unit": unit.uid,
            "file": unit.name,
            "first_line": unit.first_line,
            "records": n_read,
            "written": written,
            "rejected": n_rejected,
            "reasons": dict(Counter(rejection_kind(error) for error in rejected)),
            "words": n_words,
            "started": started,
            "finished": time.time(),
            "pid": os.getpid(),
        }
