"""Which spacy-ru-nn wrote a component, and refusing what a newer release wrote.

Each component stores the version of spacy-ru-nn that created it in its `cfg` (saved as the
component's `cfg` file). Weights and features of a newer minor release may not mean the same
to this one, so loading one fails early with a message naming the file and the fix, instead of
a msgpack or torch traceback from deep inside deserialization.
"""
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import srsly

from ..about import __version__

VERSION_KEY = "spacy_ru_nn_version"


def major_minor(version: str) -> Tuple[int, int]:
    """(major, minor) of a version string such as "0.1.0" or "1.2.0.dev1".

    version (str): The version.
    RETURNS (Tuple[int, int]): Its first two numeric parts.
    """
    parts = str(version).split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise ValueError(f"Unreadable spacy-ru-nn version {version!r}") from None


def check_written_version(cfg: Dict[str, Any], name: str, source: Union[str, Path]) -> None:
    """Raise if `cfg` was written by a newer major.minor release than the installed one.

    A cfg without the key predates the check (spacy-ru-nn 0.1.0) and loads as before.

    cfg (Dict[str, Any]): The component's stored cfg.
    name (str): The component name, for the message.
    source (Union[str, Path]): Where the cfg came from, for the message.
    """
    written: Optional[str] = cfg.get(VERSION_KEY)
    if written is None:
        return
    try:
        newer = major_minor(written) > major_minor(__version__)
    except ValueError as err:
        raise ValueError(f"{source}: component '{name}': {err}; the file is damaged or foreign.") from None
    if newer:
        wanted = ".".join(str(n) for n in major_minor(written))
        raise ValueError(
            f"{source}: component '{name}' was saved by spacy-ru-nn {written}, but "
            f"spacy-ru-nn {__version__} is installed, which cannot read it. Upgrade with "
            f"pip install 'spacy-ru-nn>={wanted}', or re-train the pipeline with this version."
        )


def check_version_on_disk(path: Union[str, Path], name: str) -> None:
    """Read `path/cfg` (if readable) and apply `check_written_version`.

    An unreadable cfg is left to the component's own loading, which reports it.
    """
    cfg_path = Path(path) / "cfg"
    try:
        cfg = srsly.read_json(cfg_path)
    except (OSError, ValueError):
        return
    if isinstance(cfg, dict):
        check_written_version(cfg, name, cfg_path)


def check_version_in_bytes(bytes_data: bytes, name: str) -> None:
    """Apply `check_written_version` to the cfg inside a component's `to_bytes` output."""
    try:
        msg = srsly.msgpack_loads(bytes_data)
        cfg = srsly.json_loads(msg["cfg"])
    except (KeyError, TypeError, ValueError):
        return
    if isinstance(cfg, dict):
        check_written_version(cfg, name, "bytes")


__all__ = ["VERSION_KEY", "check_version_in_bytes", "check_version_on_disk", "check_written_version", "major_minor"]
