"""Token-level IO scores: the metric of the public Russian NER tables (naeval, slovnet).

Every token counts once with the type of the entity covering it (or none), so a partly found
entity earns partial credit. This reads higher than spaCy's entity-level exact-span F1.
"""
from collections import Counter
from typing import Dict, Iterable

from spacy.training import Example


def token_io_prf(examples: Iterable[Example]) -> Dict:
    """Per-type and micro P/R/F over tokens, gold tokens aligned to predicted by characters."""
    tp: Counter = Counter()
    n_pred: Counter = Counter()
    n_gold: Counter = Counter()
    for eg in examples:
        gold_types = [None if tag in (None, "O", "-") else tag.split("-", 1)[1] for tag in eg.get_aligned_ner()]
        for token, gold in zip(eg.predicted, gold_types):
            pred = token.ent_type_ or None
            if pred is not None:
                n_pred[pred] += 1
            if gold is not None:
                n_gold[gold] += 1
            if pred is not None and pred == gold:
                tp[pred] += 1
    per_type = {label: _prf(tp[label], n_pred[label], n_gold[label]) for label in sorted(n_gold | n_pred)}
    micro = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    return {"micro": micro, "per_type": per_type}


def _prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f": f}
