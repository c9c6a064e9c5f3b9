"""Robustness checks shared by the tests and `benchmark-processes`: hostile inputs, valid
annotations, peak memory.

The input battery holds what real traffic sends sooner or later: empty and whitespace-only
texts, single characters, astral-plane symbols, zero-width and control characters,
right-to-left, Latin and mixed scripts, digits and URLs, a 1 MiB text and a 100,000-token
document.
"""
from itertools import cycle, islice
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

ONE_MIB = 1 << 20
HUGE_TOKENS = 100_000

_RU_WORDS = (
    "Александр Пушкин родился в Москве Владимир Путин посетил Сбербанк в Казани Газпром "
    "открыл офис в Новосибирске Мария Иванова и Пётр Сидоров работают в Яндексе"
).split()
_RU_TEXT = (
    "Александр Пушкин родился в Москве. Владимир Путин посетил Сбербанк в Казани. "
    "Газпром открыл офис в Новосибирске. Мария Иванова и Пётр Сидоров работают в Яндексе.\n"
)


def one_mib_text() -> str:
    """Russian news-like text of at most 1 MiB in UTF-8 (about 560,000 characters, within
    spaCy's default `nlp.max_length` of 1,000,000)."""
    text = _RU_TEXT * (ONE_MIB // len(_RU_TEXT.encode("utf8")) + 1)
    return text.encode("utf8")[:ONE_MIB].decode("utf8", errors="ignore")


def huge_token_text(n_tokens: int = HUGE_TOKENS) -> str:
    """A text that spaCy's tokenizers split into exactly `n_tokens` tokens: words without
    punctuation joined by single spaces, and no sentence boundaries to cut it."""
    return " ".join(islice(cycle(_RU_WORDS), n_tokens))


def battery_cases(with_huge: bool = True) -> Dict[str, str]:
    """The inputs every pipeline must survive, by name.

    with_huge (bool): Include the 1 MiB text and the 100,000-token document.
    RETURNS (Dict[str, str]): Case name -> text.
    """
    cases = {
        "empty": "",
        "whitespace": "   \n\n\t \r\n  \u00a0\u3000 ",
        "newlines": "\n\n\n",
        "single_char": "я",
        "single_punct": ".",
        "emoji_astral": "👍🏽 Путин 🇷🇺 приехал 😀 в 𝔐𝔬𝔰𝔨𝔳𝔞 𠜎𠜱 👨‍👩‍👧",
        "zero_width_control": "Пу\u200bтин\u200d посетил\u0000 Москву\u0007\u200e\ufeff \x1b[31m\x7f\u2028конец",
        "right_to_left": "مرحبا بالعالم في موسكو שלום עולם \u202eобратно\u202c",
        "latin_only": "Barack Obama visited Berlin and met Angela Merkel.",
        "mixed_script": "Москва и London, Пётр and Paris; Yandex и Газпром. ПутинPutin",
        "digits_urls": "12345 67,89 +7-800-555-35-35 https://example.com/путь?q=1&x=%D0%B0 www.ya.ru 2016-03-01",
        "long_word": "Москва" * 2000,
    }
    if with_huge:
        cases["one_mib"] = one_mib_text()
        cases["tokens_100k"] = huge_token_text()
    return cases


def doc_signature(doc: Doc) -> Tuple[tuple, tuple]:
    """What a pipeline wrote: entities as (start, end, label) and cats as (label, score)."""
    ents = tuple((ent.start, ent.end, ent.label_) for ent in doc.ents)
    cats = tuple(sorted(doc.cats.items()))
    return ents, cats


def doc_problems(doc: Doc) -> List[str]:
    """Ways in which an annotated doc is invalid: entities out of token bounds, overlapping
    or on whitespace; cats outside [0, 1] or not summing to 1 (exclusive classes)."""
    problems = []
    last_end = 0
    for ent in doc.ents:
        if not 0 <= ent.start < ent.end <= len(doc):
            problems.append(f"entity {ent.start}:{ent.end} outside the doc's {len(doc)} tokens")
        if ent.start < last_end:
            problems.append(f"entity {ent.start}:{ent.end} overlaps the previous one")
        if all(token.is_space for token in ent):
            problems.append(f"entity {ent.start}:{ent.end} is whitespace only")
        last_end = ent.end
    if doc.cats:
        scores = list(doc.cats.values())
        if not all(0.0 <= s <= 1.0 for s in scores):
            problems.append(f"cats outside [0, 1]: {doc.cats}")
        if abs(sum(scores) - 1.0) > 1e-5:
            problems.append(f"cats sum to {sum(scores)}, not 1: {doc.cats}")
    return problems


def battery_texts(base_texts: Sequence[str], n_texts: int = 10_000) -> List[str]:
    """`n_texts` texts: every battery case once, spread evenly, the rest cycled from
    `base_texts` (or from the battery's short cases when there are none)."""
    cases = list(battery_cases().values())
    pool = [t for t in base_texts if t] or cases[:-2]
    texts = list(islice(cycle(pool), max(n_texts - len(cases), 0)))
    step = max(len(texts) // len(cases), 1)
    for i, case in enumerate(cases):
        texts.insert(min(i * (step + 1), len(texts)), case)
    return texts[: max(n_texts, len(cases))]


def read_peak_rss() -> Optional[int]:
    """Peak resident memory of this process in bytes (Linux VmHWM), or None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the peak to the current resident memory (Linux >= 4.0, /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_increase(func: Callable[[], object]) -> Optional[int]:
    """Bytes by which the process's peak resident memory rises above its current one while
    `func` runs; None where the peak cannot be reset and read. Torch's allocations are
    counted (tracemalloc would only see Python's)."""
    if not reset_peak_rss():
        return None
    before = read_peak_rss()
    func()
    after = read_peak_rss()
    if before is None or after is None:
        return None
    return after - before


__all__ = [
    "battery_cases",
    "battery_texts",
    "doc_problems",
    "doc_signature",
    "huge_token_text",
    "one_mib_text",
    "peak_rss_increase",
]
