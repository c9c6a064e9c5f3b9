"""Scorers registered for the spacy-ru-nn components.

`spacy-ru-nn.textcat_scorer.v1` is `Scorer.score_cats` for exclusive classes, except that
a binary task with a `positive_label` decides with the component's `threshold` instead of
argmax. spaCy ignores the threshold for exclusive classes; for spam filtering it is the
knob that trades precision for recall, so the reported P/R/F must follow it.
"""
from typing import Any, Callable, Dict, Iterable, Optional

from spacy.scorer import PRFScore, Scorer
from spacy.training import Example
from spacy.util import registry


def decide(
    cats: Dict[str, float],
    labels: Iterable[str],
    positive_label: Optional[str],
    threshold: float,
) -> str:
    """Turn label probabilities into one label.

    cats (Dict[str, float]): Label probabilities, as in `doc.cats`.
    labels (Iterable[str]): The component's labels.
    positive_label (Optional[str]): The positive label of a binary task, if any.
    threshold (float): Probability at which the positive label wins.
    RETURNS (str): The positive label if it reaches the threshold, the other label if
        not; the highest-scoring label when there is no positive label.
    """
    labels = list(labels)
    if positive_label is not None and len(labels) == 2:
        negative = labels[1] if labels[0] == positive_label else labels[0]
        return positive_label if cats.get(positive_label, 0.0) >= threshold else negative
    return max(labels, key=lambda label: cats.get(label, 0.0))


def textcat_score(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """Score `doc.cats` of exclusive classes; binary tasks use the threshold.

    examples (Iterable[Example]): Examples to score.
    kwargs: The component's cfg (labels, threshold, positive_label) and any overrides.
    RETURNS (Dict[str, Any]): The keys of `Scorer.score_cats`.
    """
    examples = list(examples)
    results = Scorer.score_cats(examples, "cats", multi_label=False, **kwargs)
    labels = list(kwargs.get("labels", []))
    positive_label = kwargs.get("positive_label")
    threshold = kwargs.get("threshold")
    if positive_label is None or len(labels) != 2 or threshold is None:
        return results
    f_per_type = {label: PRFScore() for label in labels}
    for eg in examples:
        gold_cats = {k: v for k, v in eg.reference.cats.items() if k in f_per_type}
        predicted = decide(eg.predicted.cats, labels, positive_label, threshold)
        if not gold_cats or max(gold_cats.values()) <= 0:
            f_per_type[predicted].fp += 1
            continue
        gold = max(gold_cats, key=lambda label: gold_cats[label])
        if predicted == gold:
            f_per_type[gold].tp += 1
        else:
            f_per_type[gold].fn += 1
            f_per_type[predicted].fp += 1
    micro = PRFScore()
    for prf in f_per_type.values():
        micro.tp += prf.tp
        micro.fp += prf.fp
        micro.fn += prf.fn
    n_labels = len(f_per_type)
    results.update(
        {
            "cats_micro_p": micro.precision,
            "cats_micro_r": micro.recall,
            "cats_micro_f": micro.fscore,
            "cats_macro_p": sum(prf.precision for prf in f_per_type.values()) / n_labels,
            "cats_macro_r": sum(prf.recall for prf in f_per_type.values()) / n_labels,
            "cats_macro_f": sum(prf.fscore for prf in f_per_type.values()) / n_labels,
            "cats_f_per_type": {k: v.to_dict() for k, v in f_per_type.items()},
            "cats_score": f_per_type[positive_label].fscore,
            "cats_score_desc": f"F ({positive_label}, p >= {threshold:g})",
        }
    )
    return results


@registry.scorers("spacy-ru-nn.textcat_scorer.v1")
def make_textcat_scorer() -> Callable[..., Dict[str, Any]]:
    """Return the thresholded exclusive-classes `doc.cats` scorer."""
    return textcat_score


__all__ = ["decide", "make_textcat_scorer", "textcat_score"]
