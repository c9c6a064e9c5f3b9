"""The manifest of an `annotate` output folder: what makes a run resumable.

`_manifest.jsonl` starts with the run's arguments and inputs, then gets one line per finished
unit, appended and synced by the driver after the unit's shard is in place. A unit is done
when, and only when, its line is there: a shard without a line (a run killed between the two)
is deleted and redone, so no record is ever written twice. A run started again with the same
arguments skips the done units; with other arguments, or changed inputs, it refuses.
"""
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from .outputs import ERRORS_DIR, errors_shard_path

MANIFEST = "_manifest.jsonl"
ERRORS = "_errors.jsonl"
SUMMARY = "_summary.json"
MANIFEST_VERSION = 1


class ManifestMismatch(ValueError):
    """OUTPUT holds another run (or something else): resuming into it would mix outputs."""


class Manifest:
    def __init__(self, output: Path, run: Dict[str, Any], done: Dict[str, Dict[str, Any]]):
        self.output = output
        self.run = run
        self.done = done

    @property
    def path(self) -> Path:
        return self.output / MANIFEST

    @classmethod
    def open(cls, output: Path, run: Dict[str, Any]) -> "Manifest":
        """Start a run in `output`, or resume the run it holds if that run had the same
        arguments and inputs: the units it finished are `done`, anything else of it is
        removed.

        run (Dict[str, Any]): JSON-able arguments and inputs that define the run's output.
        """
        if output.exists() and not output.is_dir():
            raise ManifestMismatch(
                f"OUTPUT {output} is a file: give a folder (a new one, or that of an interrupted run)"
            )
        path = output / MANIFEST
        if not path.exists():
            if output.exists() and any(output.iterdir()):
                raise ManifestMismatch(
                    f"OUTPUT {output} is not empty and holds no {MANIFEST}: choose a new folder or empty it"
                )
            output.mkdir(parents=True, exist_ok=True)
            _append_synced(path, {"manifest": MANIFEST_VERSION, "run": run})
            return cls(output, run, {})
        header, units = _read_lines(path)
        if header.get("manifest") != MANIFEST_VERSION or header.get("run") != run:
            differences = _differences(header.get("run") or {}, run)
            raise ManifestMismatch(
                f"OUTPUT {output} holds a run with other arguments or inputs ({differences}): "
                "run again with the same ones to resume it, or choose a new OUTPUT"
            )
        manifest = cls(output, run, {unit["unit"]: unit for unit in units})
        manifest.remove_uncommitted()
        return manifest

    def commit(self, summary: Dict[str, Any]) -> None:
        """Mark a unit done: its shard and errors are written."""
        if summary["unit"] in self.done:
            return
        _append_synced(self.path, summary)
        self.done[summary["unit"]] = summary

    def remove_uncommitted(self) -> None:
        """Delete shards of units not in the manifest and temporary files: what a killed run
        left half done."""
        owned = [p for p in self.output.glob("part-*") if p.is_file()]
        owned += list((self.output / ERRORS_DIR).glob("*.jsonl"))
        for path in owned:
            uid = path.stem[len("part-"):] if path.name.startswith("part-") else path.stem
            if uid not in self.done:
                path.unlink()
        for path in list(self.output.glob(".*.tmp")) + list((self.output / ERRORS_DIR).glob(".*.tmp")):
            path.unlink()

    def complete(self, unit_order: Iterable[str], summary: Dict[str, Any]) -> None:
        """Gather the units' errors into one file in input order, write the run's summary,
        then drop the per-unit error files. Each step is safe to repeat if interrupted."""
        errors_path = self.output / ERRORS
        errors_dir = self.output / ERRORS_DIR
        # Without the per-unit files, the errors file was gathered by a run that completed.
        if errors_dir.exists() or not errors_path.exists():
            tmp = errors_path.with_name(f".{ERRORS}.tmp")
            with open(tmp, "wb") as out:
                for uid in unit_order:
                    part = errors_shard_path(self.output, uid)
                    if part.exists():
                        out.write(part.read_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, errors_path)
        summary_tmp = self.output / f".{SUMMARY}.tmp"
        summary_tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf8")
        os.replace(summary_tmp, self.output / SUMMARY)
        if errors_dir.exists():
            for part in errors_dir.iterdir():
                part.unlink()
            errors_dir.rmdir()

    def read_summary(self) -> Optional[Dict[str, Any]]:
        """The summary of a run that already completed, or None."""
        path = self.output / SUMMARY
        return json.loads(path.read_text(encoding="utf8")) if path.exists() else None


def _append_synced(path: Path, line: Dict[str, Any]) -> None:
    with open(path, "a", encoding="utf8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _read_lines(path: Path):
    """The header and unit lines; a last line cut short by a kill is dropped (and cut off,
    so that the next append starts on a line of its own)."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    if tail:
        with open(path, "r+b") as f:
            f.truncate(len(data) - len(tail))
    parsed: List[Dict[str, Any]] = [json.loads(line) for line in complete if line.strip()]
    if not parsed:
        raise ManifestMismatch(f"{path} has no header line: delete the folder and start again")
    return parsed[0], parsed[1:]


def _differences(old: Dict[str, Any], new: Dict[str, Any]) -> str:
    keys = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    return ", ".join(
        _file_differences(old.get(key) or [], new.get(key) or []) if key == "files"
        else f"{key}: {_short(old.get(key))} then, {_short(new.get(key))} now"
        for key in keys
    )


def _file_differences(old: List[List[Any]], new: List[List[Any]], limit: int = 5) -> str:
    """What changed in the input files, file by file: `files` holds [name, size, mtime_ns]."""
    before = {name: (size, mtime) for name, size, mtime in old}
    after = {name: (size, mtime) for name, size, mtime in new}
    changes = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(f"{name}: removed")
        elif name not in before:
            changes.append(f"{name}: added")
        elif before[name] != after[name]:
            (size_then, mtime_then), (size_now, mtime_now) = before[name], after[name]
            fields = []
            if size_then != size_now:
                fields.append(f"size {size_then:,} -> {size_now:,} bytes")
            if mtime_then != mtime_now:
                fields.append(f"modified {_time(mtime_then, mtime_now)} -> {_time(mtime_now, mtime_then)}")
            changes.append(f"{name}: {', '.join(fields)}")
    if len(changes) > limit:
        changes = changes[:limit] + [f"and {len(changes) - limit} more"]
    return "input files changed: " + "; ".join(changes)


def _time(mtime_ns: int, other_ns: int) -> str:
    """A modification time to the second, or finer where that is what tells it from the other."""
    spec = "seconds" if mtime_ns // 10**9 != other_ns // 10**9 else "microseconds"
    time = datetime.fromtimestamp(mtime_ns // 10**9).replace(microsecond=mtime_ns // 1000 % 10**6)
    return time.isoformat(sep=" ", timespec=spec)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["ERRORS", "MANIFEST", "SUMMARY", "Manifest", "ManifestMismatch"]
