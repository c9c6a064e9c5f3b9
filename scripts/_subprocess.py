"""`spacy train` and `evaluate-ner` in child processes with one thread each, for the NER
experiments: a run's speed is its own, and parallel runs share the cores without contention."""
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import srsly

# Native thread pools read these at start-up; torch's own count is set by each command.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# The project's root: child processes run `python -m scripts ...` from anywhere.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def one_thread_env() -> Dict[str, str]:
    """This process's environment with every native thread pool at one thread, and the
    project's root on the path so that `python -m scripts` resolves in a child."""
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **ONE_THREAD, "PYTHONPATH": path}


def train_command(config: Path, out_dir: Path, train: Path, dev: Path, steps: int, overrides: Dict[str, Any]) -> List[str]:
    """`spacy train` for a fixed number of steps (no early stopping), with config overrides."""
    cmd = [
        sys.executable, "-m", "spacy", "train", str(config), "--output", str(out_dir),
        "--paths.train", str(train), "--paths.dev", str(dev),
        "--training.max_steps", str(steps), "--training.patience", "0",
    ]  # fmt: skip
    for key, value in overrides.items():
        cmd += [f"--{key}", srsly.json_dumps(value)]
    return cmd


def evaluate_in_subprocess(model: Path, data: Path, output: Path) -> Dict:
    """`evaluate-ner` in its own one-thread process, so its words/s is its own."""
    subprocess.run(
        [sys.executable, "-m", "spacy_ru_nn", "evaluate-ner", str(model), str(data), "--output", str(output)],
        check=True,
        capture_output=True,
        env=one_thread_env(),
    )
    return json.loads(output.read_text(encoding="utf8"))
