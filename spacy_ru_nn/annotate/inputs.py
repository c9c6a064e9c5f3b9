"""Reading a corpus for `annotate`: which files, how they are cut into units, how each line
becomes a record or a rejection.

A unit is a slice of one input file (a range of lines of a `.txt`/`.jsonl` file, a row group
of a `.parquet` file) that is annotated and written as one output shard. Units are planned on
the driver from the files alone, so a run and its resumption (and every engine, worker count
and batch size) cut the corpus the same way. Each unit is read and parsed where it is
annotated: one undecodable byte or invalid JSON line rejects that record, not the file, which
is why Ray Data's own `read_text`/`read_json` (which fail a whole dataset on one bad line and
drop blank lines) are not used.
"""
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy

SUFFIXES = {".txt": "txt", ".jsonl": "jsonl", ".parquet": "parquet"}
_SCAN_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"


# Every reason a record is rejected for, as the kind that starts its `reason` in the errors
# file (and counts it in the summary), with what it means: the reference list of the docs.
REJECTIONS: Dict[str, str] = {
    "not UTF-8": "the line's bytes are not UTF-8",
    "blank line": "the line is empty or only whitespace (.txt, .jsonl)",
    "invalid JSON": "the .jsonl line is not valid JSON",
    "not a JSON object": "the .jsonl line is JSON, but not an object",
    "no text": "the record has no text field (--text-field), or it is null",
    "text not a string": "the record's text field is a number, a list, an object...",
    "blank text": "the record's text field is empty or only whitespace (.jsonl, .parquet)",
    "too long": "the text is longer than the pipeline's nlp.max_length",
    "pipeline error": "the pipeline raised an exception on the record",
    "Parquet schema": "the record's fields do not fit the Parquet output's schema (--format parquet)",
    "unreadable file": "the whole file cannot be read (one row, line null)",
}


class InputError(ValueError):
    """INPUT cannot be annotated at all (missing, no supported files): nothing was started."""


@dataclass(frozen=True)
class InputFile:
    path: str  # absolute: what a worker opens, on any node of a shared filesystem
    name: str  # as reported in output rows and the errors file: relative to an INPUT folder
    kind: str  # "txt" | "jsonl" | "parquet"
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Unit:
    """A slice of one input file, annotated and written as one shard."""

    uid: str  # "00002-000013": unit 13 of input file 2; names the shard, sorts in input order
    path: str
    name: str
    kind: str
    start: int  # first byte (txt, jsonl) or row group (parquet)
    end: int  # byte after the last line (txt, jsonl); unused for parquet
    first_line: int  # 1-based line (or row) number of the unit's first record
    n_records: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: str) -> "Unit":
        return cls(**json.loads(data))


@dataclass
class Record:
    line: int
    text: str
    fields: Dict[str, Any]  # the input's fields (for .txt: just the text)


def rejection(name: str, line: Optional[int], kind: str, detail: str) -> Dict[str, Any]:
    """A row of the errors file. Its reason starts with the kind of problem (one of
    REJECTIONS, what the run's summary counts) and goes on with the details."""
    if kind not in REJECTIONS:
        raise ValueError(f"Unknown rejection {kind!r}: add it to REJECTIONS")
    return {"file": name, "line": line, "reason": f"{kind}: {detail}"}


def rejection_kind(error: Dict[str, Any]) -> str:
    return error["reason"].split(":", 1)[0]


def list_input_files(input_path: Path, exclude: Optional[Path] = None) -> Tuple[List[InputFile], List[Path]]:
    """The files to annotate, in a stable order, and the files of a folder that are skipped
    because of their extension.

    input_path (Path): A `.txt`, `.jsonl` or `.parquet` file, or a folder searched recursively.
    exclude (Optional[Path]): A folder whose files are never inputs (the output folder).
    RETURNS (Tuple[List[InputFile], List[Path]]): Inputs, skipped files.
    """
    if not input_path.exists():
        raise InputError(f"INPUT does not exist: {input_path}")
    if input_path.is_file():
        if input_path.suffix not in SUFFIXES:
            raise InputError(f"INPUT {input_path} is not a .txt, .jsonl or .parquet file")
        return [_input_file(input_path, input_path.name)], []
    files, skipped = [], []
    for path in sorted(p for p in input_path.rglob("*") if p.is_file()):
        relative = path.relative_to(input_path)
        if any(part.startswith((".", "_")) for part in relative.parts):
            continue  # hidden files and the metadata of output folders (_manifest.jsonl)
        if exclude is not None and exclude.resolve() in path.resolve().parents:
            continue
        if path.suffix in SUFFIXES:
            files.append(_input_file(path, relative.as_posix()))
        else:
            skipped.append(path)
    if not files:
        raise InputError(f"INPUT folder {input_path} holds no .txt, .jsonl or .parquet files")
    return files, skipped


def _input_file(path: Path, name: str) -> InputFile:
    stat = path.stat()
    return InputFile(str(path.resolve()), name, SUFFIXES[path.suffix], stat.st_size, stat.st_mtime_ns)


def plan_units(files: Iterable[InputFile], shard_size: int) -> Tuple[List[Unit], List[Tuple[str, Dict[str, Any]]]]:
    """Cut every file into units of `shard_size` lines (text) or one row group (Parquet).

    RETURNS (Tuple[List[Unit], List[Tuple[str, Dict[str, Any]]]]): The units, and for each
        file that cannot be read at all (its records cannot even be counted) a unit id and an
        errors-file row.
    """
    units: List[Unit] = []
    unreadable = []
    for index, file in enumerate(files):
        try:
            if file.kind == "parquet":
                units.extend(_parquet_units(index, file))
            else:
                units.extend(_text_units(index, file, shard_size))
        except (OSError, ValueError) as err:
            unreadable.append((f"{index:05d}-unreadable", rejection(file.name, None, "unreadable file", str(err))))
    return units, unreadable


def _text_units(index: int, file: InputFile, shard_size: int) -> List[Unit]:
    """Units of `shard_size` lines, found in one pass of vectorized newline search. Lines end
    at b"\\n" only, as `wc -l` counts them (`str.splitlines` also splits on \\x0b, \\x85,
    \\u2028...)."""
    cuts = [0]
    n_newlines = 0
    size = 0
    last = b""
    with open(file.path, "rb") as f:
        for chunk in iter(lambda: f.read(_SCAN_CHUNK), b""):
            newlines = numpy.flatnonzero(numpy.frombuffer(chunk, dtype=numpy.uint8) == 0x0A)
            # Newline j of this chunk ends line n_newlines + j + 1: a unit ends after every
            # shard_size-th line.
            first = (shard_size - n_newlines - 1) % shard_size
            cuts.extend((newlines[first::shard_size] + 1 + size).tolist())
            n_newlines += len(newlines)
            size += len(chunk)
            last = chunk[-1:]
    n_lines = n_newlines + (1 if size and last != b"\n" else 0)
    if cuts[-1] == size:
        cuts.pop()
    units = []
    for i, start in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else size
        first_line = i * shard_size + 1
        n_records = min(shard_size, n_lines - first_line + 1)
        units.append(Unit(f"{index:05d}-{i:06d}", file.path, file.name, file.kind, start, end, first_line, n_records))
    return units


def _parquet_units(index: int, file: InputFile) -> List[Unit]:
    parquet = _require_pyarrow_parquet()
    metadata = parquet.ParquetFile(file.path).metadata
    units, first_line = [], 1
    for group in range(metadata.num_row_groups):
        n_rows = metadata.row_group(group).num_rows
        if n_rows:
            units.append(Unit(f"{index:05d}-{group:06d}", file.path, file.name, file.kind, group, group, first_line, n_rows))
        first_line += n_rows
    return units


def read_unit(unit: Unit, text_field: str, max_length: int) -> Tuple[List[Record], List[Dict[str, Any]]]:
    """Parse a unit's lines: records to annotate, and errors-file rows for the rest.

    text_field (str): The field (.jsonl) or column (.parquet) holding the text.
    max_length (int): The pipeline's `nlp.max_length`: longer texts are rejected, not run.
    RETURNS (Tuple[List[Record], List[Dict]]): Good records and rejections, each in line order.
    """
    if unit.kind == "parquet":
        parquet = _require_pyarrow_parquet()
        rows = parquet.ParquetFile(unit.path).read_row_group(unit.start).to_pylist()
        parsed = (_parse_fields(row, text_field) for row in rows)
    else:
        with open(unit.path, "rb") as f:
            f.seek(unit.start)
            data = f.read(unit.end - unit.start)
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        if unit.start == 0 and lines and lines[0].startswith(_BOM):
            lines[0] = lines[0][len(_BOM):]
        parse = _parse_txt_line if unit.kind == "txt" else _parse_jsonl_line
        parsed = (parse(line, text_field) for line in lines)
    records, rejected = [], []
    for line_no, (fields, problem) in enumerate(parsed, start=unit.first_line):
        if problem is None:
            text = fields[text_field]
            if len(text) > max_length:
                problem = f"too long: {len(text):,} characters, over the pipeline's max_length of {max_length:,}"
            else:
                records.append(Record(line_no, text, fields))
                continue
        kind, detail = problem.split(": ", 1)
        rejected.append(rejection(unit.name, line_no, kind, detail))
    return records, rejected


# The fields, or a problem as "kind: details".
ParseResult = Tuple[Optional[Dict[str, Any]], Optional[str]]


def _decode(line: bytes) -> Tuple[Optional[str], Optional[str]]:
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return None, f"not UTF-8: {err}"


def _parse_txt_line(line: bytes, text_field: str) -> ParseResult:
    # A line of a Windows file keeps no trailing \r.
    text, problem = _decode(line[:-1] if line.endswith(b"\r") else line)
    if problem is not None:
        return None, problem
    if not text.strip():
        return None, f"blank line: {_blank(text)}"
    return {text_field: text}, None


def _parse_jsonl_line(line: bytes, text_field: str) -> ParseResult:
    decoded, problem = _decode(line)
    if problem is not None:
        return None, problem
    if not decoded.strip():
        return None, f"blank line: {_blank(decoded)}"
    try:
        fields = json.loads(decoded)
    except ValueError as err:
        return None, f"invalid JSON: {err}"
    if not isinstance(fields, dict):
        return None, f"not a JSON object: {type(fields).__name__}"
    return _parse_fields(fields, text_field)


def _parse_fields(fields: Dict[str, Any], text_field: str) -> ParseResult:
    if fields.get(text_field) is None:
        return None, f"no text: no {text_field!r} field, or null"
    if not isinstance(fields[text_field], str):
        return None, f"text not a string: {text_field!r} is {type(fields[text_field]).__name__}"
    if not fields[text_field].strip():
        return None, f"blank text: {text_field!r} is {_blank(fields[text_field])}"
    return fields, None


def _blank(text: str) -> str:
    return "empty" if not text else f"only whitespace ({text!r})"


def _require_pyarrow_parquet():
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise InputError("Parquet input and output need pyarrow: pip install spacy-ru-nn[parquet]") from None
    return parquet


def sample_jsonl_fields(files: Iterable[InputFile], text_field: str, n_records: int = 1000) -> List[Dict[str, Any]]:
    """The first `n_records` good records of the .jsonl inputs, to infer a Parquet schema."""
    sample: List[Dict[str, Any]] = []
    for file in files:
        if file.kind != "jsonl":
            continue
        with open(file.path, "rb") as f:
            for line in f:
                fields, problem = _parse_jsonl_line(line.rstrip(b"\r\n"), text_field)
                if problem is None:
                    sample.append(fields)
                if len(sample) >= n_records:
                    return sample
    return sample


__all__ = [
    "InputError",
    "InputFile",
    "Record",
    "Unit",
    "list_input_files",
    "plan_units",
    "read_unit",
    "rejection",
    "rejection_kind",
    "sample_jsonl_fields",
]
