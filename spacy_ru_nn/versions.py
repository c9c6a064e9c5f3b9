"""Which spacy-ru-nn wrote a component, and refusing what a newer release wrote.

Each component stores the version of spacy-ru-nn that created it in its `cfg` (saved as the
component's `cfg` file). Weights and features of a newer minor release may not mean the same
to this one, so loading one fails early with a message naming the file and the fix, instead of
a msgpack or torch traceback from deep inside deserialization.
"""
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple, TypeVar, Union

import srsly
from spacy.util import SimpleFrozenList, get_minor_version

from .about import __version__

VERSION_KEY = "spacy_ru_nn_version"


def major_minor(version: str) -> Tuple[int, int]:
    """(major, minor) of a version string such as "0.1.0" or "1.2.0.dev1".

    version (str): The version.
    RETURNS (Tuple[int, int]): Its first two numeric parts.
    """
    minor = get_minor_version(str(version))
    if minor is None:
        raise ValueError(f"Unreadable spacy-ru-nn version {version!r}")
    major, minor = minor.split(".")
    return int(major), int(minor)


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


# What torch, thinc and srsly raise on truncated, missing or foreign component files.
LOAD_ERRORS = (ValueError, RuntimeError, EOFError, OSError, KeyError, TypeError)

PipeT = TypeVar("PipeT", bound="CheckedLoading")


class CheckedLoading:
    """`from_disk` and `from_bytes` that refuse a newer release's files, and name the
    component, its factory and the fix when loading fails. Listed before the spaCy pipe class
    in the bases, whose methods do the loading."""

    name: str
    factory_name: str

    def from_disk(self: PipeT, path: Union[str, Path], *, exclude: Iterable[str] = SimpleFrozenList()) -> PipeT:
        """Load cfg and weights; a truncated, missing or foreign model file names itself.

        path (Union[str, Path]): The component's directory.
        exclude (Iterable[str]): Serialization fields to skip.
        RETURNS: The loaded component.
        """
        check_version_on_disk(path, self.name)
        try:
            return super().from_disk(path, exclude=exclude)
        except LOAD_ERRORS as err:
            raise ValueError(
                f"Could not load component '{self.name}' ({self.factory_name}) from {path}: {err}. "
                "The files may be truncated, or written by another version of spacy-ru-nn: "
                "re-train the pipeline or re-install its package."
            ) from err

    def from_bytes(self: PipeT, bytes_data: bytes, *, exclude: Iterable[str] = SimpleFrozenList()) -> PipeT:
        """Load from `to_bytes` output, with the same checks as `from_disk`."""
        check_version_in_bytes(bytes_data, self.name)
        try:
            return super().from_bytes(bytes_data, exclude=exclude)
        except LOAD_ERRORS as err:
            raise ValueError(
                f"Could not load component '{self.name}' ({self.factory_name}) from bytes: {err}"
            ) from err


__all__ = [
    "CheckedLoading",
    "VERSION_KEY",
    "check_version_in_bytes",
    "check_version_on_disk",
    "check_written_version",
    "major_minor",
]
