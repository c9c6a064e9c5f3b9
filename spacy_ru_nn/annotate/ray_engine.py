"""`--engine ray`: the units as a Ray Dataset, annotated by a fixed pool of actors that each
load the pipeline once, on a local Ray instance or a running cluster (`--address`).

Each actor call reads one unit from the input files, annotates it, writes its shard (an
atomic rename, so a retried call replaces it) and returns the unit's summary; the driver
commits the summaries to the manifest as they stream back. Ray retries the call of an actor
that dies, on a restarted actor, and never returns a unit's summary twice; the manifest is the
only record of what is done. There is no Read or Write operator: those need a CPU of their
own, and a pool that holds every CPU with them waits forever (ray-project/ray#44687).

Needs the `ray` extra: `pip install spacy-ru-nn[ray]`.
"""
import json
import logging
import os
import re
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy

from .annotator import ShardSettings, UnitAnnotator
from .inputs import Unit

Commit = Callable[[Dict[str, Any]], None]
# What a driver refused by a token-protected cluster is told to set.
SET_THE_TOKEN = (
    "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH to the cluster's token file (see README, 'Annotate on a cluster')"
)
# A fixed pool starts on its first ready actor (ray-project/ray#60124): wait for all of them,
# so that every worker takes units from the start, for at most this long.
ACTOR_START_TIMEOUT_S = 600


class ClusterAuthError(ConnectionError):
    """The cluster at `--address` refused this driver: its token is missing or wrong."""


class RayUnitAnnotator:
    """The Ray Data UDF: the pipeline is loaded here, from its name or path, never sent
    pickled (explosion/spaCy#13506: "buffer source array is read-only")."""

    def __init__(self, pipeline: str, settings: ShardSettings):
        import torch

        # One thread per actor: each has one CPU. First, before torch runs anything.
        torch.set_num_threads(1)
        import spacy

        nlp = spacy.load(pipeline)
        # Loading a pipeline can set torch's global thread count (its config's callbacks).
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        self.annotator = UnitAnnotator(nlp, settings)

    def __call__(self, batch: Dict[str, numpy.ndarray]) -> Dict[str, numpy.ndarray]:
        summaries = [json.dumps(self.annotator.annotate(Unit.from_json(str(unit)))) for unit in batch["unit"]]
        return {"summary": numpy.array(summaries, dtype=object)}


def run_ray(pipeline: str, settings: ShardSettings, units: Sequence[Unit], commit: Commit, workers: int = 1,
            address: Optional[str] = None, no_progress_timeout_s: Optional[float] = None) -> None:
    """Annotate `units` with `workers` actors and commit each summary as it arrives.

    address (Optional[str]): A running cluster ("auto", "HOST:PORT"); None starts a local
        instance for this run, unless this process already joined one (`ray.init`).
    no_progress_timeout_s (Optional[float]): Fail instead of waiting longer than this for
        any unit to finish.
    """
    with _quiet_ray():
        _run_ray(pipeline, settings, units, commit, workers, address, no_progress_timeout_s)


def _run_ray(pipeline: str, settings: ShardSettings, units: Sequence[Unit], commit: Commit, workers: int,
             address: Optional[str], no_progress_timeout_s: Optional[float]) -> None:
    import ray
    from ray.data import ActorPoolStrategy, DataContext
    from ray.exceptions import AuthenticationError

    started_ray = False
    if not ray.is_initialized():
        options: Dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **_QUIET_INIT}
        if address:
            options["address"] = address
        else:
            # A local instance: as many CPUs as workers even on a smaller machine (they then
            # share cores), rather than actors that never start.
            options["num_cpus"] = max(os.cpu_count() or 1, workers)
        with _sigterm_handler_kept():
            try:
                ray.init(**options)
            except (AuthenticationError, ConnectionError) as err:
                refusal = token_refusal(err, address) if address else None
                if refusal is None:
                    raise
                raise refusal
        started_ray = True
    try:
        context = DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S
        if no_progress_timeout_s is not None:
            context.execution_no_progress_timeout_s = no_progress_timeout_s
        items: List[Dict[str, str]] = [{"unit": unit.to_json()} for unit in units]
        # One block per unit: a map task takes a whole block, so a block of many units would
        # go to one actor.
        dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            RayUnitAnnotator,
            fn_constructor_kwargs={"pipeline": pipeline, "settings": settings},
            batch_size=1,
            # Two units in flight per actor (Ray's default): the next one waits at the actor
            # instead of being dispatched after each finishes.
            compute=ActorPoolStrategy(size=workers),
            num_cpus=1,
        )
        for row in dataset.iter_rows():
            commit(json.loads(row["summary"]))
    finally:
        if started_ray:
            ray.shutdown()


def token_refusal(err: Exception, address: str) -> Optional[ClusterAuthError]:
    """The error to show instead of `err`, raised by `ray.init(address=address)`, if it is about
    the token; else None. Ray raises `AuthenticationError` at once when token auth is on here and
    the token cannot be read. A cluster that rejects the token (none sent, or another one) is
    retried for about 20 s, then Ray raises `ConnectionError`, and "InvalidAuthToken" is only
    in the text of the error it chains."""
    from ray.exceptions import AuthenticationError

    if isinstance(err, AuthenticationError):
        return ClusterAuthError(f"No Ray token for the cluster at {address} ({err.message}): {SET_THE_TOKEN}")
    chained: Optional[BaseException] = err
    while chained is not None:
        if "InvalidAuthToken" in str(chained):
            return ClusterAuthError(
                f"The Ray cluster at {address} requires token authentication and refused this driver's token "
                f"(missing or wrong): {SET_THE_TOKEN}"
            )
        chained = chained.__cause__ or chained.__context__
    return None


# The driver's "ray" logger: errors only ("Started a local Ray instance." is not news).
_QUIET_INIT: Dict[str, Any] = {"logging_level": logging.ERROR}
# A line of Ray's C++ log: "[2026-12-02 13:38:30,566 E 19872 19872] core_worker.cc:2465: ..."
_CPP_LOG_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\d [\d:,.]+ [DIWEF] \d+ \d+\] ")


@contextmanager
def _quiet_ray() -> Iterator[None]:
    """Keep Ray's console output to what the user can act on, for the run: its errors.

    - Ray Data's console lines below ERROR ("Progress bars disabled", "execution finished");
      its log file (ray-data.log in the session's folder) keeps them;
    - deprecation warnings of Ray's own calls (RayDeprecationWarning is a DeprecationWarning);
    - the C++ log lines that the core worker of this process writes to stderr: creating the
      actor pool logs an error-level line on every run, successful or not, that the actors'
      constructor arguments are in the object store (ray-project/ray#53727). They are held
      back, and printed if the run fails.
    """
    import ray.data  # noqa: F401 (its import configures the "ray.data" logger)

    consoles = [handler for handler in logging.getLogger("ray.data").handlers
                if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)]
    levels = [handler.level for handler in consoles]
    for handler in consoles:
        handler.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), _cpp_log_held_back():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        for handler, level in zip(consoles, levels):
            handler.setLevel(level)


@contextmanager
def _sigterm_handler_kept() -> Iterator[None]:
    """Keep this process's SIGTERM handler across `ray.init`, which replaces it with
    `sys.exit(SIGTERM)`: `annotate` stops on SIGTERM as on Ctrl-C, and says so."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if in_main_thread else None
    try:
        yield
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


@contextmanager
def _cpp_log_held_back() -> Iterator[None]:
    """Pass this process's stderr (file descriptor 2, where C++ writes) through a thread that
    holds back Ray's C++ log lines; print them if the block fails."""
    sys.stderr.flush()
    stderr = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)
    held: List[bytes] = []

    def forward() -> None:
        pending = b""
        for chunk in iter(lambda: os.read(read, 1 << 16), b""):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if _CPP_LOG_LINE.match(line):
                    held.append(line + b"\n")
                else:
                    os.write(stderr, line + b"\n")
            if not pending.startswith(b"["):
                # Not a C++ line: out now (a progress bar redraws without a newline).
                os.write(stderr, pending)
                pending = b""
        os.write(stderr, pending)
        os.close(read)

    thread = threading.Thread(target=forward, name="ray-log-filter", daemon=True)
    thread.start()
    failed = False
    try:
        yield
    except ClusterAuthError:
        raise  # its one line says what to set; the lines of Ray's retries add nothing
    except Exception:
        failed = True  # not a Ctrl-C or SIGTERM: the user asked for that
        raise
    finally:
        sys.stderr.flush()
        os.dup2(stderr, 2)  # the pipe's end of file, unless a child process holds it
        thread.join(timeout=5)
        if failed:
            for line in held:
                os.write(stderr, line)
        if not thread.is_alive():
            os.close(stderr)  # else left open: the thread may still write to it


__all__ = ["ClusterAuthError", "RayUnitAnnotator", "run_ray", "token_refusal"]
