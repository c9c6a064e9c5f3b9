"""slovnet's pretrained token encoders (inside natasha), rebuilt in PyTorch.

natasha ships slovnet's news models as small tar packs: navec word vectors and a 30-d token
shape embedding, three convolution layers (kernel 3, ReLU, batch norm: 330 -> 256 -> 128 -> 64)
and a task head. The NER and morphology models share that architecture with different weights;
both learnt from Nerus, a silver-annotated Russian news corpus (CC BY-NC-SA 4.0), which is where
their knowledge of names comes from. The packs are read once, at `initialize`; the weights then
live in our model, so a trained pipeline never reads natasha's files again.

The computation follows slovnet's numpy runtime (`slovnet/exec/model.py`): word ids are the
lowercase form's row in navec (its `<unk>` row otherwise), padding is zero and is zeroed again
after every layer, so a sentence encodes the same alone or in any batch.
"""
import gzip
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy
import torch
from torch import nn

# Names for the `pretrained` setting -> natasha's pack files.
SLOVNET_PACKS = {"slovnet_ner": "slovnet_ner_news_v1", "slovnet_morph": "slovnet_morph_news_v1"}
# The navec table slovnet's packs were trained with (their `emb.word.id`).
SLOVNET_NAVEC_ID = "news_v1_1B_250K_300d_100q"
CHANNELS = (256, 128, 64)
KERNEL_SIZE = 3
SHAPE_WIDTH = 30
WORD_WIDTH = 300
# slovnet's NER head scores these tags (`slovnet/vocab.py`); the morph head has 753 UD tags,
# which we do not read.
NER_TAGS = ("<pad>", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
BATCH_NORM_EPS = 1e-5

# --- token shapes, as `slovnet/shape.py` computes them -------------------------------------

PUNCTS = (
    "!#$%&()[]\\/*+,.:;<=>?@^_{|}~"
    "-‐−‒⁃–—―"
    "`\"'«»„“ʼʻ”"
    "№…"
)
_TYPE = re.compile(
    r"(?P<RU>[а-яё]+)|(?P<EN>[a-z]+)|(?P<NUM>[+-]?\d+)|(?P<PUNCT>[%s]+)" % re.escape(PUNCTS),
    re.IGNORECASE,
)
_OUTLINES = ("X", "x", "XX", "xx", "Xx", "Xx-Xx", "OTHER")
# Row 0 is padding, as in the packs' `vocabs/shape.gz`.
SHAPES: Tuple[str, ...] = (
    "<pad>",
    *(f"RU_{outline}" for outline in _OUTLINES),
    *(f"EN_{outline}" for outline in _OUTLINES),
    *(f"PUNCT_{char}" for char in PUNCTS),
    "PUNCT_OTHER",
    "NUM",
    "OTHER",
)
SHAPE_INDEX: Dict[str, int] = {shape: i for i, shape in enumerate(SHAPES)}


def _is_title(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and word[1:].islower()


def _outline(word: str) -> str:
    if len(word) == 1:
        return "X" if word.isupper() else "x"
    if word.isupper():
        return "XX"
    if word.islower():
        return "xx"
    if _is_title(word):
        return "Xx"
    if "-" in word:
        left, right = word.split("-", 1)
        if _is_title(left) and _is_title(right):
            return "Xx-Xx"
    return "OTHER"


def word_shape(word: str) -> str:
    """slovnet's shape of a token: its script or kind from a prefix match, then its case
    outline ("RU_Xx"), the punctuation mark itself ("PUNCT_«"), "NUM" or "OTHER"."""
    match = _TYPE.match(word)
    kind = match.lastgroup if match else "OTHER"
    if kind in ("RU", "EN"):
        return f"{kind}_{_outline(word)}"
    if kind == "PUNCT":
        return f"PUNCT_{word}" if len(word) == 1 and word in PUNCTS else "PUNCT_OTHER"
    return kind


def shape_id(word: str) -> int:
    return SHAPE_INDEX[word_shape(word)]


# --- reading a pack ------------------------------------------------------------------------


@dataclass
class SlovnetPack:
    """The arrays of one slovnet pack that the encoder and the NER head need."""

    name: str
    shape_embedding: numpy.ndarray  # (66, 30)
    layers: List[Dict[str, numpy.ndarray]]  # conv weight/bias, norm weight/bias/mean/std
    head_weight: numpy.ndarray  # (64, n_tags), in x out
    head_bias: numpy.ndarray


def resolve_pack_path(name: str) -> Path:
    """The pack file inside natasha for a `pretrained` name ('slovnet_ner', 'slovnet_morph')."""
    if name not in SLOVNET_PACKS:
        raise ValueError(f"Unknown pretrained encoder {name!r}: use one of {', '.join(SLOVNET_PACKS)}")
    try:
        import natasha.data
    except ImportError as err:
        raise ImportError(f"pretrained = ['{name}'] needs the natasha package: pip install natasha") from err
    return Path(natasha.data.__file__).parent / "model" / f"{SLOVNET_PACKS[name]}.tar"


def read_slovnet_pack(name: str) -> SlovnetPack:
    """Read a slovnet pack (plain tar of `model.json`, raw C-order arrays and gzipped vocabs)
    with the standard library and numpy only, checking the parts our encoder relies on."""
    path = resolve_pack_path(name)
    with tarfile.open(path) as tar:
        files = {
            info.name: tar.extractfile(info).read()  # type: ignore[union-attr]
            for info in tar.getmembers()
            if info.isfile()
        }

    def member(member_name: str) -> bytes:
        if member_name not in files:
            raise ValueError(f"{path}: no {member_name}; not a slovnet pack")
        return files[member_name]

    def array(leaf: Dict) -> numpy.ndarray:
        data = member(f"arrays/{leaf['array']}.bin")
        return numpy.frombuffer(data, dtype=leaf["dtype"]).reshape(leaf["shape"]).copy()

    tree = json.loads(member("model.json"))
    shapes = gzip.decompress(member("vocabs/shape.gz")).decode("utf8").splitlines()
    if tuple(shapes) != SHAPES:
        raise ValueError(f"{path}: its shape vocabulary differs from slovnet's news models'")
    navec_id = tree["emb"]["word"].get("id")
    if navec_id != SLOVNET_NAVEC_ID:
        raise ValueError(f"{path}: trained with navec {navec_id!r}, expected {SLOVNET_NAVEC_ID!r}")
    layers = [
        {
            "conv_weight": array(layer["conv"]["weight"]),
            "conv_bias": array(layer["conv"]["bias"]),
            **{f"norm_{key}": array(layer["norm"][key]) for key in ("weight", "bias", "mean", "std")},
        }
        for layer in tree["encoder"]["layers"]
    ]
    widths = tuple(layer["conv_weight"].shape[0] for layer in layers)
    if widths != CHANNELS:
        raise ValueError(f"{path}: encoder widths {widths}, expected {CHANNELS}")
    head = tree["head"]["proj"]
    return SlovnetPack(
        name=name,
        shape_embedding=array(tree["emb"]["shape"]["weight"]),
        layers=layers,
        head_weight=array(head["weight"]),
        head_bias=array(head["bias"]),
    )


# --- the encoder ---------------------------------------------------------------------------


class SlovnetEncoder(nn.Module):
    """[word vector; shape embedding] -> 3 x (Conv1d -> ReLU -> batch norm), per sequence.

    Batch norm is kept as its inference-time affine map (`scales`, `shifts` per channel), so
    fine-tuning adjusts it like any other weight and never re-estimates batch statistics.
    With `n_scores` the NER head's tag scores (emissions) come after the 64 hidden units, or
    alone without `include_hidden`.

    Each convolution (kernel 3) runs as one matrix product giving the three taps of every
    position, then a shifted sum, over time-major padded sequences like the BiLSTM's. The first
    layer's product depends on the word alone, so it is computed once per distinct word of the
    batch (`embed_words`) and gathered per position: two thirds of the encoder's arithmetic.
    """

    def __init__(
        self, *, pack: str = "slovnet_ner", n_scores: int = 0, include_hidden: bool = True, trainable: bool = False
    ) -> None:
        super().__init__()
        if not (include_hidden or n_scores):
            raise ValueError("A slovnet encoder needs its hidden states, its tag scores or both")
        # The pack `load_pack` reads at initialize: 'slovnet_ner' or 'slovnet_morph'.
        self.pack = pack
        self.include_hidden = include_hidden
        self.trainable = trainable
        self.shape_embedding = nn.Embedding(len(SHAPES), SHAPE_WIDTH, padding_idx=0)
        widths = (WORD_WIDTH + SHAPE_WIDTH, *CHANNELS)
        self.convs = nn.ModuleList(
            nn.Conv1d(n_in, n_out, KERNEL_SIZE, padding=KERNEL_SIZE // 2)
            for n_in, n_out in zip(widths[:-1], widths[1:])
        )
        self.scales = nn.ParameterList(nn.Parameter(torch.ones(n)) for n in CHANNELS)
        self.shifts = nn.ParameterList(nn.Parameter(torch.zeros(n)) for n in CHANNELS)
        self.head = nn.Linear(CHANNELS[-1], n_scores) if n_scores else None
        # navec's <unk> vector: what slovnet reads for a word outside the table.
        self.register_buffer("unknown_vector", torch.zeros(WORD_WIDTH))
        self.requires_grad_(trainable)

    @property
    def n_scores(self) -> int:
        """Tag scores at the end of each token's states."""
        return self.head.out_features if self.head is not None else 0

    @property
    def width(self) -> int:
        return self.n_scores + (CHANNELS[-1] if self.include_hidden else 0)

    def load_pack(self, pack: SlovnetPack, unknown_vector: numpy.ndarray) -> None:
        """Copy a pack's weights in (at initialize)."""
        with torch.no_grad():
            self.shape_embedding.weight.copy_(torch.from_numpy(pack.shape_embedding))
            for conv, scale, shift, layer in zip(self.convs, self.scales, self.shifts, pack.layers):
                conv.weight.copy_(torch.from_numpy(layer["conv_weight"]))
                conv.bias.copy_(torch.from_numpy(layer["conv_bias"]))
                # y = (x - mean) / std * gamma + beta, with std = sqrt(var + eps) precomputed.
                folded = layer["norm_weight"] / layer["norm_std"]
                scale.copy_(torch.from_numpy(folded))
                shift.copy_(torch.from_numpy(layer["norm_bias"] - layer["norm_mean"] * folded))
            if self.head is not None:
                if pack.head_weight.shape != (CHANNELS[-1], self.head.out_features):
                    raise ValueError(
                        f"{pack.name}: its head scores {pack.head_weight.shape[1]} tags, "
                        f"expected {self.head.out_features}"
                    )
                self.head.weight.copy_(torch.from_numpy(pack.head_weight.T))
                self.head.bias.copy_(torch.from_numpy(pack.head_bias))
            self.unknown_vector.copy_(torch.from_numpy(unknown_vector))

    def embed_words(self, word_vectors: torch.Tensor, found: torch.Tensor, shape_ids: torch.Tensor) -> torch.Tensor:
        """The first convolution's three taps for each distinct word, (n_words + 1, 3 x 256),
        with a last row of zeros that padding positions read.

        word_vectors (n_words, 300): navec vectors, used where `found`; shape_ids (n_words,).
        """
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trainable):
            vectors = torch.where(found.unsqueeze(1), word_vectors, self.unknown_vector)
            inputs = torch.cat([vectors, self.shape_embedding(shape_ids)], dim=1)
            taps = inputs @ _taps(self.convs[0].weight).T
            return torch.cat([taps, taps.new_zeros(1, taps.shape[1])])

    def forward(self, word_taps: torch.Tensor, words: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """word_taps from `embed_words`; words (T, n): each position's row in it, and real
        (T, n): which positions are tokens, for time-major padded sequences. Returns
        (T, n, width)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trainable):
            keep = real.unsqueeze(2).to(word_taps.dtype)
            # Padding reads the zero row, as slovnet's padding reads zeros.
            taps = word_taps[torch.where(real, words, word_taps.shape[0] - 1)]
            for i, (conv, scale, shift) in enumerate(zip(self.convs, self.scales, self.shifts)):
                if i:
                    taps = hidden @ _taps(conv.weight).T
                hidden = torch.relu(_shifted_sum(taps, conv.out_channels) + conv.bias)
                # Batch norm, then zeros again where there are no tokens.
                hidden = torch.addcmul(shift, hidden, scale) * keep
            if self.head is None:
                return hidden
            scores = self.head(hidden)
            return torch.cat([hidden, scores], dim=2) if self.include_hidden else scores


def _taps(weight: torch.Tensor) -> torch.Tensor:
    """Conv1d weight (out, in, 3) as one (3 x out, in) matrix: the taps for t-1, t, t+1."""
    n_out, n_in, kernel = weight.shape
    return weight.permute(2, 0, 1).reshape(kernel * n_out, n_in)


def _shifted_sum(taps: torch.Tensor, n_out: int) -> torch.Tensor:
    """Conv1d (kernel 3, zero padding 1) over time-major (T, n, 3 x out) taps:
    out[t] = before[t - 1] + centre[t] + after[t + 1]."""
    before, centre, after = taps.view(*taps.shape[:2], KERNEL_SIZE, n_out).unbind(dim=2)
    out = centre.clone()
    out[1:] += before[:-1]
    out[:-1] += after[1:]
    return out


PRETRAINED_OUTPUTS = ("hidden", "scores", "both")


def slovnet_encoders(names: Sequence[str], outputs: str, trainable: bool) -> List[SlovnetEncoder]:
    """Untrained encoders for the `pretrained` setting; `load_pack` fills them at initialize.

    names: 'slovnet_ner' and/or 'slovnet_morph'. outputs: what the NER encoder contributes
    ('hidden', 'scores' or 'both'); the morphology encoder always gives its hidden states.
    """
    if outputs not in PRETRAINED_OUTPUTS:
        raise ValueError(f"pretrained_outputs must be one of {', '.join(PRETRAINED_OUTPUTS)}, got {outputs!r}")
    unknown = [name for name in names if name not in SLOVNET_PACKS]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"pretrained must list distinct encoders among {', '.join(SLOVNET_PACKS)}, got {list(names)}"
        )
    encoders = []
    for name in names:
        if name == "slovnet_ner":
            n_scores = len(NER_TAGS) if outputs != "hidden" else 0
            encoder = SlovnetEncoder(
                pack=name, n_scores=n_scores, include_hidden=outputs != "scores", trainable=trainable
            )
        else:
            encoder = SlovnetEncoder(pack=name, trainable=trainable)
        encoders.append(encoder)
    return encoders


def navec_unknown_vector(source: str) -> numpy.ndarray:
    """navec's `<unk>` row, decoded: slovnet's input for words outside the table."""
    from navec import Navec

    from .vectors import resolve_navec_path

    navec = Navec.load(str(resolve_navec_path(source)))
    if navec.meta.id != SLOVNET_NAVEC_ID:
        raise ValueError(
            f"slovnet's encoders read navec {SLOVNET_NAVEC_ID!r}, but `vectors` is {navec.meta.id!r}"
        )
    return numpy.asarray(navec["<unk>"], dtype=numpy.float32)
