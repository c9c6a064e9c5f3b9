"""natasha's normal forms of the mentions that `evaluate-normal --mentions` wrote, as a
reference row for that command's table (`--reference natasha=...`).

Runs in its own environment, because natasha's MorphVocab needs pkg_resources:
    python -m venv venv-natasha && venv-natasha/bin/pip install natasha "setuptools<81"
    venv-natasha/bin/python scripts/natasha_normal.py metrics/normal_mentions.jsonl metrics/natasha_normal.jsonl
Each document goes through natasha's segmenter, morphology tagger and syntax parser; each gold
mention becomes a natasha span over the tokens inside it and gets `DocSpan.normalize`.
"""
import json
import sys
from pathlib import Path

from natasha import Doc, MorphVocab, NewsEmbedding, NewsMorphTagger, NewsSyntaxParser, Segmenter
from natasha.doc import DocSpan


def main(mentions_path: Path, output_path: Path) -> None:
    segmenter, vocab = Segmenter(), MorphVocab()
    embedding = NewsEmbedding()
    tagger, parser = NewsMorphTagger(embedding), NewsSyntaxParser(embedding)
    with open(mentions_path, encoding="utf8") as lines, open(output_path, "w", encoding="utf8") as out:
        for line in lines:
            record = json.loads(line)
            doc = Doc(record["text"])
            doc.segment(segmenter)
            doc.tag_morph(tagger)
            doc.parse_syntax(parser)
            doc.spans = [
                DocSpan(start, end, label, record["text"][start:end])
                for start, end, label, _ in record["mentions"]
            ]
            doc.envelop_span_tokens()
            for span in doc.spans:
                span.normalize(vocab)
                normal = {"doc_id": record["doc_id"], "start": span.start, "end": span.stop, "label": span.type}
                out.write(json.dumps({**normal, "normal": span.normal}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
