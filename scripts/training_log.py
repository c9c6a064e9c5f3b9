"""Reading the training log spaCy writes: `spacy.ConsoleLogger.v3` with `output_file` set
writes one JSON line per evaluation (epoch, step, the losses summed since the previous
evaluation, the dev scores in percent and the weighted score in [0, 1]).

    python -m spacy train configs/spam.cfg ... --training.logger.output_file training/spam/train_log.jsonl

spaCy refuses to overwrite an existing log (it warns and logs nothing), so whoever trains
again removes the old one first (`fresh_log_path`).
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Union

import srsly

LOG_NAME = "train_log.jsonl"


@dataclass
class Evaluation:
    """One line of the log: an evaluation on the dev set after `step` updates.

    loss (float): the mean training loss per update since the previous evaluation, summed
        over the components.
    """

    epoch: int
    step: int
    loss: float
    scores: Dict[str, float]
    score: float


def fresh_log_path(output_dir: Union[str, Path]) -> Path:
    """Where a training run in output_dir logs to, with any older log removed."""
    path = Path(output_dir) / LOG_NAME
    path.unlink(missing_ok=True)
    return path


def read_training_log(path: Union[str, Path]) -> List[Evaluation]:
    """The evaluations of a training log, in order. Raises ValueError on an empty log."""
    evaluations = []
    previous_step = 0
    for line in srsly.read_jsonl(path):
        step = int(line["step"])
        updates = max(step - previous_step, 1)
        loss = sum(float(value) for value in line["losses"].values()) / updates
        evaluations.append(Evaluation(int(line["epoch"]), step, loss, dict(line["scores"]), float(line["score"])))
        previous_step = step
    if not evaluations:
        raise ValueError(f"{path} holds no evaluation: was the training run long enough to evaluate?")
    return evaluations


def best_evaluation(evaluations: List[Evaluation]) -> Evaluation:
    """The evaluation model-best was saved at: spaCy saves it again at every evaluation that
    equals the best score so far, so on a tie the later step is the one kept."""
    best = max(evaluation.score for evaluation in evaluations)
    return [evaluation for evaluation in evaluations if evaluation.score == best][-1]


__all__ = ["Evaluation", "LOG_NAME", "best_evaluation", "fresh_log_path", "read_training_log"]
