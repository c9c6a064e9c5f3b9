"""Writing `annotate` output: one row per record, one shard per unit, each shard written to a
temporary name, synced and renamed, so that a reader (or a resumed run) never sees half a
shard, and a unit done twice (a retried Ray task) replaces its shard instead of adding one.
"""
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from ..normalizer.component import normal_field
from .inputs import Record, Unit, rejection

if TYPE_CHECKING:
    import pyarrow

FORMATS = ("jsonl", "parquet")
# Fields `annotate` adds to the input's: provenance, so rows join back to their input whatever
# the order shards are read in, and the annotations.
FILE_FIELD = "_file"
LINE_FIELD = "_line"
ADDED_FIELDS = ("ents", "cats", FILE_FIELD, LINE_FIELD)
ERRORS_DIR = "_errors"


def annotations_set_by(nlp: Language) -> Tuple[bool, bool]:
    """Whether the pipeline's components declare that they set `doc.ents` and `doc.cats`
    (the factories' `assigns`): only those get an `ents` or `cats` field."""
    assigns = {attr for name in nlp.pipe_names for attr in nlp.get_pipe_meta(name).assigns}
    return "doc.ents" in assigns, "doc.cats" in assigns


def doc_row(doc: Doc, record: Record, file_name: str, with_ents: bool, with_cats: bool) -> Dict[str, Any]:
    """The input's fields, `ents` (character offsets, label, text) and `cats`, and where the
    record came from. Added fields replace input fields of the same name (re-annotating
    an earlier output gives fresh annotations)."""
    row = {key: value for key, value in record.fields.items() if key not in ADDED_FIELDS}
    if with_ents:
        row["ents"] = [
            {"start": ent.start_char, "end": ent.end_char, "label": ent.label_, "text": ent.text, **normal_field(ent)}
            for ent in doc.ents
        ]
    if with_cats:
        row["cats"] = {label: float(score) for label, score in doc.cats.items()}
    row[FILE_FIELD] = file_name
    row[LINE_FIELD] = record.line
    return row


def shard_path(output: Path, unit_uid: str, fmt: str) -> Path:
    return output / f"part-{unit_uid}.{fmt}"


def errors_shard_path(output: Path, unit_uid: str) -> Path:
    return output / ERRORS_DIR / f"{unit_uid}.jsonl"


def parquet_schema(input_fields: "pyarrow.Schema", with_ents: bool, with_cats: bool) -> "pyarrow.Schema":
    """An explicit schema for every shard: with per-shard inference, a shard without any
    entity gets `list<null>` and the folder no longer reads as one table."""
    import pyarrow as pa

    fields = [field for field in input_fields if field.name not in ADDED_FIELDS]
    if with_ents:
        entity = pa.struct(
            [("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()), ("text", pa.string()), ("normal", pa.string())]
        )
        fields.append(pa.field("ents", pa.list_(entity)))
    if with_cats:
        fields.append(pa.field("cats", pa.map_(pa.string(), pa.float64())))
    fields += [pa.field(FILE_FIELD, pa.string()), pa.field(LINE_FIELD, pa.int64())]
    return pa.schema(fields)


def input_fields_schema(kinds: Iterable[str], text_field: str, parquet_schemas: Sequence["pyarrow.Schema"],
                        jsonl_sample: Sequence[Dict[str, Any]]) -> "pyarrow.Schema":
    """The input's columns for Parquet output: the text for .txt, each .parquet file's own
    schema, and for .jsonl a schema inferred from a sample of records (untyped nulls become
    strings). Conflicting types across files raise a ValueError that says so."""
    import pyarrow as pa

    schemas = list(parquet_schemas)
    if "txt" in kinds:
        schemas.append(pa.schema([pa.field(text_field, pa.string())]))
    try:
        # Record by record: a table of all of them fails on the first conflict, unnamed.
        schemas += [pa.Table.from_pylist([fields]).schema for fields in jsonl_sample]
        schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
        raise ValueError(f"The inputs' fields have conflicting types for Parquet output ({err}): use --format jsonl") from None
    schema = pa.schema([field.with_type(pa.string()) if pa.types.is_null(field.type) else field for field in schema])
    if schema.get_field_index(text_field) < 0:
        schema = schema.append(pa.field(text_field, pa.string()))
    return schema


def write_unit(output: Path, unit: Unit, rows: List[Dict[str, Any]], rejected: List[Dict[str, Any]], fmt: str,
               schema: Optional["pyarrow.Schema"]) -> Tuple[int, int]:
    """Write a unit's shard (always, even empty, so every committed unit has one) and its
    errors (when there are any). Rows that do not fit the Parquet schema join the errors.

    RETURNS (Tuple[int, int]): Rows written, records rejected.
    """
    path = shard_path(output, unit.uid, fmt)
    if fmt == "jsonl":
        lines = [json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows]
        _atomic_write(path, lambda f: f.write("".join(lines).encode("utf8")))
        written = len(rows)
    else:
        import pyarrow.parquet as pq

        table, misfits = _to_table(rows, schema)
        for row, reason in misfits:
            rejected.append(rejection(unit.name, row[LINE_FIELD], "Parquet schema", reason))
        rejected.sort(key=lambda error: error["line"])
        _atomic_write(path, lambda f: pq.write_table(table, f))
        written = table.num_rows
    write_errors(output, unit.uid, rejected)
    return written, len(rejected)


def write_errors(output: Path, unit_uid: str, rejected: List[Dict[str, Any]]) -> None:
    """A unit's rows of the errors file, when it has any."""
    path = errors_shard_path(output, unit_uid)
    if rejected:
        path.parent.mkdir(exist_ok=True)
        lines = [json.dumps(error, ensure_ascii=False) + "\n" for error in rejected]
        _atomic_write(path, lambda f: f.write("".join(lines).encode("utf8")))
    elif path.exists():
        path.unlink()


def _to_table(rows: List[Dict[str, Any]], schema: "pyarrow.Schema"):
    """The rows as a table of `schema`, and the rows that do not fit it with the reason.
    `from_pylist` silently drops keys the schema lacks: those are misfits too."""
    import pyarrow as pa

    names = set(schema.names)
    misfits, fitting = [], []
    for row in rows:
        extra = sorted(set(row) - names)
        if extra:
            misfits.append((row, f"field(s) {extra} not in the schema inferred from the first records (use --format jsonl)"))
        else:
            fitting.append(row)
    try:
        return pa.Table.from_pylist(fitting, schema=schema), misfits
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    good = []
    for row in fitting:
        try:
            pa.Table.from_pylist([row], schema=schema)
            good.append(row)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            misfits.append((row, str(err)))
    return pa.Table.from_pylist(good, schema=schema), misfits


def _atomic_write(path: Path, write) -> None:
    """Write through a hidden temporary file (readers such as pyarrow.dataset skip names that
    start with "." or "_"), sync it, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # A full disk, Ctrl-C: the part written is of no use (a resumed run redoes the unit).
        tmp.unlink(missing_ok=True)
        raise


__all__ = [
    "ADDED_FIELDS",
    "FILE_FIELD",
    "FORMATS",
    "LINE_FIELD",
    "annotations_set_by",
    "doc_row",
    "errors_shard_path",
    "input_fields_schema",
    "parquet_schema",
    "shard_path",
    "write_errors",
    "write_unit",
]
