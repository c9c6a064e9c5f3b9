"""NER metrics beyond spaCy's scorer.

Token-level IO scores are the metric of the public Russian NER tables (naeval, slovnet): every
token counts once with the type of the entity covering it (or none), so a partly found entity
earns partial credit, and this reads higher than spaCy's entity-level exact-span F1. The error
breakdown says where the exact-span errors come from.
"""
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import AbstractSet, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from spacy.scorer import PRFScore
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.vocab import Vocab

CharSpan = Tuple[int, int, str]  # start char, end char, label
GOLD_OUTCOMES = ("found", "wrong_type", "wrong_boundary", "missed")
BOUNDARY_KINDS = ("longer", "shorter", "joins_several", "crossing")


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
    return PRFScore(tp=tp, fp=n_pred - tp, fn=n_gold - tp).to_dict()


def mention_key(text: str) -> str:
    """A mention's identity for "seen in training": lowercase, whitespace collapsed."""
    return " ".join(text.lower().split())


def training_mentions(docs: Iterable[Doc]) -> Dict[str, Set[str]]:
    """Mention keys per label in the training docs."""
    mentions: Dict[str, Set[str]] = defaultdict(set)
    for doc in docs:
        for ent in doc.ents:
            mentions[ent.label_].add(mention_key(ent.text))
    return dict(mentions)


def read_training_mentions(path: Path) -> Dict[str, Set[str]]:
    """Mention keys per label in a .spacy file of training data."""
    return training_mentions(DocBin().from_disk(path).get_docs(Vocab()))


def error_breakdown(
    examples: Iterable[Example], seen: Optional[Mapping[str, AbstractSet[str]]] = None
) -> Dict:
    """Where exact-span errors come from, by character offsets.

    Each gold entity is found (same span and label), of the wrong type (same span), of a wrong
    boundary (a prediction overlaps it with another span) or missed (nothing overlaps it).
    Predictions that overlap no gold entity are spurious. Predictions with a wrong boundary are
    longer than the one gold entity they cover, shorter, join several gold entities, or cross
    one. With `seen` (mention keys per label from the training data), gold entities are also
    split into mentions seen in training with their label and unseen ones, with the recall of
    each.
    """
    per_type: Dict[str, Counter] = defaultdict(Counter)
    boundaries: Counter = Counter()
    for eg in examples:
        for kind, (start, end, label), overlapping in _classified(eg):
            if kind == "wrong_boundary_prediction":
                boundaries[_boundary_kind((start, end), overlapping)] += 1
                continue
            counts = per_type[label]
            counts[kind] += 1
            if kind == "spurious":
                continue
            counts["gold"] += 1
            if seen is not None:
                known = mention_key(eg.reference.text[start:end]) in seen.get(label, ())
                group = "seen" if known else "unseen"
                counts[group] += 1
                counts[f"{group}_found"] += kind == "found"
    return {
        "per_type": {label: _outcomes(per_type[label], seen is not None) for label in sorted(per_type)},
        "total": _outcomes(sum(per_type.values(), Counter()), seen is not None),
        "wrong_boundary_predictions": {kind: boundaries[kind] for kind in BOUNDARY_KINDS},
    }


def error_examples(examples: Iterable[Example], per_kind: int, seed: int = 0) -> Dict[str, List[str]]:
    """Up to `per_kind` errors of each kind of `error_breakdown`, drawn at random (seeded), one
    line each: the gold entity or the spurious prediction, what was predicted over it, and the
    text around it."""
    cases: Dict[str, List[str]] = defaultdict(list)
    for eg in examples:
        text = eg.reference.text
        for kind, span, overlapping in _classified(eg):
            if kind == "spurious":
                cases[kind].append(f"{_quote(text, span)} | {_context(text, span)}")
            elif kind in GOLD_OUTCOMES and kind != "found":
                over = ", ".join(_quote(text, other) for other in sorted(overlapping))
                cases[kind].append(f"{_quote(text, span)} -> {over or 'nothing'} | {_context(text, span)}")
    rng = random.Random(seed)
    kinds = (*GOLD_OUTCOMES[1:], "spurious")
    return {kind: rng.sample(cases[kind], min(per_kind, len(cases[kind]))) for kind in kinds}


def _quote(text: str, span: CharSpan) -> str:
    start, end, label = span
    return f"{text[start:end]!r} {label}"


def _context(text: str, span: CharSpan, width: int = 40) -> str:
    start, end, _ = span
    return " ".join(text[max(0, start - width) : end + width].split())


def _char_spans(doc: Doc) -> Set[CharSpan]:
    return {(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents}


def _overlapping(span: Tuple[int, int], others: Iterable[CharSpan]) -> List[CharSpan]:
    start, end = span
    return [other for other in others if other[0] < end and start < other[1]]


def _classified(eg: Example) -> Iterator[Tuple[str, CharSpan, List[CharSpan]]]:
    """(kind, span, what overlaps it) for each gold entity, then for each prediction that is not
    one: "spurious", or "wrong_boundary_prediction" with the gold entities it overlaps. A
    prediction on a gold span with another label is counted once, as that entity's wrong type."""
    gold = _char_spans(eg.reference)
    predicted = _char_spans(eg.predicted)
    for entity in sorted(gold):
        overlapping = _overlapping(entity[:2], predicted)
        yield _gold_outcome(entity, overlapping), entity, overlapping
    for span in sorted(predicted - gold):
        overlapping = _overlapping(span[:2], gold)
        if not overlapping:
            yield "spurious", span, overlapping
        elif all(other[:2] != span[:2] for other in overlapping):
            yield "wrong_boundary_prediction", span, overlapping


def _gold_outcome(entity: CharSpan, overlapping: List[CharSpan]) -> str:
    if entity in overlapping:
        return "found"
    if any(other[:2] == entity[:2] for other in overlapping):
        return "wrong_type"
    return "wrong_boundary" if overlapping else "missed"


def _boundary_kind(span: Tuple[int, int], gold: List[CharSpan]) -> str:
    if len(gold) > 1:
        return "joins_several"
    (start, end), (g_start, g_end, _) = span, gold[0]
    if start <= g_start and g_end <= end:
        return "longer"
    if g_start <= start and end <= g_end:
        return "shorter"
    return "crossing"


def _outcomes(counts: Counter, with_seen: bool) -> Dict[str, float]:
    result: Dict[str, float] = {key: counts[key] for key in ("gold", *GOLD_OUTCOMES, "spurious")}
    if with_seen:
        for group in ("seen", "unseen"):
            result[group] = counts[group]
            result[f"{group}_recall"] = counts[f"{group}_found"] / counts[group] if counts[group] else 0.0
    return result


def error_table(errors_by_system: Mapping[str, Dict]) -> Tuple[Sequence[str], List[Sequence[str]]]:
    """One row per system and type: what became of the gold entities, the spurious predictions,
    and, where measured, recall on mentions seen in training and on unseen ones."""
    with_seen = all("seen" in errors["total"] for errors in errors_by_system.values())
    named = any(errors_by_system)
    header = [
        *(["system"] if named else []), "type", "gold", "found", "wrong type", "wrong boundary", "missed",
        "spurious", *(["unseen", "R seen", "R unseen"] if with_seen else []),
    ]  # fmt: skip
    rows = []
    for system, errors in errors_by_system.items():
        for label, counts in [*errors["per_type"].items(), ("all", errors["total"])]:
            row = [*([system] if named else []), label]
            row += [str(counts[key]) for key in ("gold", *GOLD_OUTCOMES, "spurious")]
            if with_seen:
                share = counts["unseen"] / counts["gold"] if counts["gold"] else 0.0
                row += [f"{share:.0%}", f"{counts['seen_recall']:.3f}", f"{counts['unseen_recall']:.3f}"]
            rows.append(row)
    return header, rows


def boundary_summary(errors: Dict) -> str:
    """One sentence on the predictions of `error_breakdown` with a wrong boundary, by kind."""
    kinds = errors["wrong_boundary_predictions"]
    return (
        f"Predictions with a wrong boundary: {kinds['longer']} longer than the gold entity they cover, "
        f"{kinds['shorter']} shorter, {kinds['joins_several']} joining several gold entities, "
        f"{kinds['crossing']} crossing one."
    )
