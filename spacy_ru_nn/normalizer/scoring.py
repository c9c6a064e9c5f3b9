"""Accuracy of normal forms against gold ones, and the baselines they are compared with."""
import re
from typing import Dict, Iterable, List, Sequence, Tuple

from spacy.tokens import Span

from .rules import Morphology, restore_case

LABELS = ("PER", "LOC", "ORG")


def comparable(text: str) -> str:
    """The gold normal forms vary in letter case, ё/е and dots ("ВКонтакте"/"Вконтакте",
    "США"/"С.Ш.А."): none of those makes a different name."""
    text = text.lower().replace("ё", "е").replace(".", " ")
    return re.sub(r"\s+", " ", text).strip()


def same_normal(predicted: str, gold: str) -> bool:
    return comparable(predicted) == comparable(gold)


def as_written(span: Span) -> str:
    """The baseline that changes nothing."""
    return span.text


def lemma_per_word(span: Span, morph: Morphology) -> str:
    """The baseline of token lemmas: pymorphy3's most likely lemma of each word, capitals kept,
    which breaks agreement ("Клавдии Ивановны" -> "Клавдия Иванович")."""
    words = []
    for token in span:
        parses = morph.parse(token.text) if any(c.isalpha() for c in token.text) else ()
        lemma = restore_case(token.text, parses[0].normal_form) if parses else token.text
        words.append(lemma + token.whitespace_)
    return "".join(words).strip()


def accuracy(results: Iterable[Tuple[str, str, str, str]]) -> Dict[str, Dict[str, float]]:
    """(label, mention text, predicted, gold) -> accuracy and count overall, per label and on
    the inflected mentions (gold normal form != the mention as written)."""
    correct: Dict[str, int] = {}
    total: Dict[str, int] = {}
    for label, text, predicted, gold in results:
        groups: List[str] = ["all", label]
        if not same_normal(text, gold):
            groups.append("inflected")
        for group in groups:
            total[group] = total.get(group, 0) + 1
            correct[group] = correct.get(group, 0) + int(same_normal(predicted, gold))
    return {
        group: {"accuracy": round(correct[group] / total[group], 4), "n": total[group]}
        for group in ("all",) + LABELS + ("inflected",)
        if total.get(group)
    }


def table_rows(scores: Dict[str, Dict[str, Dict[str, float]]]) -> List[Sequence[str]]:
    """One row per method: its accuracy overall, per label and on inflected mentions."""
    rows = []
    for method, by_group in scores.items():
        cells = [method, str(by_group.get("all", {}).get("n", 0))]
        for group in ("all",) + LABELS + ("inflected",):
            value = by_group.get(group, {}).get("accuracy")
            cells.append("-" if value is None else f"{value:.3f}")
        rows.append(cells)
    return rows


TABLE_HEADER = ("method", "mentions", "all", "PER", "LOC", "ORG", "inflected only")
