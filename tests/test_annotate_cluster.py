"""`annotate` on a Ray cluster with token authentication, as README's recipe sets it up: a
two-node cluster on loopback whose head, worker node and driver share one token loses a
worker mid-run and still writes every record once; a driver without the token, or with
another one, is refused in one line that says what to set, and nothing is done."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, NamedTuple

import pytest

from test_annotate import (
    HEAD_IP,
    RAY_ENV,
    assert_every_record_once,
    big_corpus,
    kill_when_units_done,
    manifest_units,
    pipeline_dir,  # noqa: F401 (a fixture)
    write_token,
)

AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class Cluster(NamedTuple):
    address: str
    # The environment of its nodes: a driver's with the cluster's token.
    env: Dict[str, str]
    base: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_node(proc: subprocess.Popen) -> None:
    """SIGTERM to `ray start --block` stops its node; the group is killed if that hangs.
    Never `ray stop`: it stops every Ray process on the machine."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _logs(driver_log: Path, base: Path) -> str:
    """The ends of the driver's log and of Ray Data's log of the run."""
    tails = []
    for path in [driver_log, *base.glob("h/session_*/logs/ray-data/ray-data.log")]:
        tails.append(f"\n--- {path}:\n" + path.read_text(errors="replace")[-3000:])
    return "".join(tails)


@pytest.fixture(scope="module")
def token_cluster() -> Iterator[Cluster]:
    """A head on 127.0.0.2 and a second node, both with RAY_AUTH_MODE=token and the same token
    file, as README's recipe starts them on a private interface."""
    pytest.importorskip("ray")
    ray_bin = str(Path(sys.executable).parent / "ray")
    base = Path(tempfile.mkdtemp(prefix="rn", dir="/tmp"))
    env = {name: value for name, value in os.environ.items() if name not in AUTH_VARIABLES}
    env.update(RAY_ENV, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(write_token(base / "token")))
    port = _free_port()
    head = subprocess.Popen(
        [ray_bin, "start", "--head", "--block", f"--node-ip-address={HEAD_IP}", f"--port={port}", "--num-cpus=1",
         f"--temp-dir={base}/h", "--include-dashboard=false", "--disable-usage-stats"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    nodes = [head]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection((HEAD_IP, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or head.poll() is not None:
                    pytest.fail("the head node did not start")
                time.sleep(0.2)
        nodes.append(subprocess.Popen(
            [ray_bin, "start", "--block", f"--address={HEAD_IP}:{port}", "--num-cpus=2", f"--temp-dir={base}/w",
             "--disable-usage-stats"],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        yield Cluster(f"{HEAD_IP}:{port}", env, base)
    finally:
        for node in reversed(nodes):
            _stop_node(node)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_two_node_cluster_loses_a_worker_and_still_writes_every_record_once(token_cluster, pipeline_dir, tmp_path):
    expected = big_corpus(tmp_path / "big.txt", 20_000)
    output = tmp_path / "out"
    command = [sys.executable, "-m", "spacy_ru_nn", "annotate", str(pipeline_dir), str(tmp_path / "big.txt"),
               str(output), "--engine", "ray", "--workers", "2", "--address", token_cluster.address,
               "--shard-size", "200", "--batch-size", "16", "--no-progress"]
    log = tmp_path / "driver.log"
    killed = []

    def kill_a_worker():
        # The actor that committed the last unit: this run's, on one of the two nodes.
        pid = manifest_units(output)[-1]["pid"]
        assert "MapWorker" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    with open(log, "w") as log_file:
        proc = subprocess.Popen(command, env=token_cluster.env, stdout=log_file, stderr=subprocess.STDOUT, text=True)
        try:
            done = kill_when_units_done(proc, output, 2, 600, kill_a_worker, lambda: _logs(log, token_cluster.base))
            proc.wait(timeout=400)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert done < 100, "the run finished before a worker was killed"
    assert_every_record_once(output, expected)
    units = manifest_units(output)
    assert len(units) == 100 and len({unit["unit"] for unit in units}) == 100
    assert killed[0] not in {unit["pid"] for unit in units[done + 2:]}, "the killed worker kept committing units"


@pytest.mark.slow
def test_a_driver_without_the_cluster_token_is_refused_in_one_line(token_cluster, pipeline_dir, tmp_path):
    (tmp_path / "in.txt").write_text("Газпром открыл офис в Новосибирске.\n", encoding="utf8")
    (tmp_path / "wrong_token").write_text("0" * 64 + "\n")
    without_auth = {name: value for name, value in token_cluster.env.items() if name not in AUTH_VARIABLES}
    drivers = {
        "no token": without_auth,
        "another token": {**token_cluster.env, "RAY_AUTH_TOKEN_PATH": str(tmp_path / "wrong_token")},
        "no token file": {**token_cluster.env, "RAY_AUTH_TOKEN_PATH": str(tmp_path / "missing_token")},
    }
    procs = {}
    # At once: a rejected token is retried for about 20 s before Ray gives up.
    for name, env in drivers.items():
        command = [sys.executable, "-m", "spacy_ru_nn", "annotate", str(pipeline_dir), str(tmp_path / "in.txt"),
                   str(tmp_path / name), "--engine", "ray", "--address", token_cluster.address, "--no-progress"]
        procs[name] = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    how = ("set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH to the cluster's token file "
           "(see README, 'Annotate on a cluster')")
    refused = (f"The Ray cluster at {token_cluster.address} requires token authentication and refused this "
               f"driver's token (missing or wrong): {how}")
    expected = {
        "no token": refused,
        "another token": refused,
        "no token file": (f"No Ray token for the cluster at {token_cluster.address} (RAY_AUTH_TOKEN_PATH is set but "
                          f"file cannot be opened or is empty: {tmp_path / 'missing_token'}): {how}"),
    }
    for name, proc in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            proc.kill()
        assert proc.returncode == 1, (name, stdout, stderr[-3000:])
        # One line on stderr, and none of the C++ lines of Ray's retries before it.
        lines = [line for line in ANSI_COLOUR.sub("", stderr).splitlines() if line.strip()]
        assert lines and lines[-1] == f"✘ {expected[name]}", (name, stderr[-3000:])
        assert not [line for line in lines if re.match(r"\[\d{4}-\d\d-\d\d [\d:,.]+ [DIWEF] \d+ \d+\]", line)], (name, stderr[-3000:])
        assert "Traceback" not in stdout + stderr, (name, stderr[-3000:])
        output = tmp_path / name
        assert manifest_units(output) == [] and not (output / "_summary.json").exists(), name
        assert not list(output.glob("part-*")), name


def test_only_token_errors_become_the_one_line_refusal():
    pytest.importorskip("ray")
    from ray.exceptions import AuthenticationError

    from spacy_ru_nn.annotate.ray_engine import ClusterAuthError, token_refusal

    # How ray.init(address=...) fails in Ray 2.60: a rejected token after its retries...
    try:
        try:
            raise RuntimeError("Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n"
                               "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication "
                               "token is missing or incorrect.")
        except RuntimeError as cause:
            raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.2:6379") from cause
    except ConnectionError as err:
        rejected = err
    refusal = token_refusal(rejected, "127.0.0.2:6379")
    assert isinstance(refusal, ClusterAuthError) and "refused this driver's token" in str(refusal)
    # ... no readable token here while RAY_AUTH_MODE=token ...
    missing = token_refusal(AuthenticationError("RAY_AUTH_TOKEN_PATH is set but file cannot be opened"), "h:1")
    assert isinstance(missing, ClusterAuthError) and "(RAY_AUTH_TOKEN_PATH is set" in str(missing)
    # ... and no cluster there at all, which is not about the token.
    unreachable = ConnectionError("Failed to connect to Ray cluster at 127.0.0.2:6380")
    unreachable.__cause__ = RuntimeError("Failed to connect to GCS. TimedOut: Timed out while waiting for GCS")
    assert token_refusal(unreachable, "127.0.0.2:6380") is None
