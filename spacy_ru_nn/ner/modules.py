"""Pure PyTorch modules of the NER model: token embedding, BiLSTM encoder, tag scores. No spaCy or thinc imports."""
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, cast

import torch
from torch import nn

from ..bilstm import BiLSTM, check_inference_precision, has_native_bfloat16
from .crf import LinearChainCRF

# Buffers whose size comes from the vector table loaded at initialize, not from the config.
VECTOR_BUFFERS = ("vector_keys", "vector_codes", "vector_codebook")


class CharCNN(nn.Module):
    """Character embeddings -> 1D convolution -> max over positions, per token.

    Catches inflection and capitalisation of words the vector table has never seen.
    """

    def __init__(self, n_chars: int, char_width: int, n_filters: int, kernel_size: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_chars, char_width, padding_idx=0)
        self.conv = nn.Conv1d(char_width, n_filters, kernel_size, padding=kernel_size // 2)

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        # char_ids: (n_tokens, max_chars), 0 is padding
        hidden = self.conv(self.embed(char_ids).transpose(1, 2))
        padding = (char_ids == 0).unsqueeze(1)
        return hidden.masked_fill(padding, float("-inf")).max(dim=2).values.clamp(min=-1e4)


class QuantizedVectors(nn.Module):
    """Frozen product-quantized word vectors (navec), looked up by 64-bit string hash.

    The quantized codes take a twelfth of the float32 table's memory and are decoded only for
    the rows a batch needs. Keys are spaCy's hashes of the lowercase form, sorted, so a
    lookup is one `searchsorted` over the whole batch.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width
        self.register_buffer("vector_keys", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("vector_codes", torch.zeros((0, 0), dtype=torch.uint8))
        self.register_buffer("vector_codebook", torch.zeros((0, 0, 0), dtype=torch.float32))
        self.oov = nn.Parameter(torch.zeros(width))

    def set_table(self, keys: torch.Tensor, codes: torch.Tensor, codebook: torch.Tensor) -> None:
        order = torch.argsort(keys)
        device = self.oov.device
        self.vector_keys = keys[order].to(device)
        self.vector_codes = codes[order].to(device)
        self.vector_codebook = codebook.to(device)

    @property
    def n_rows(self) -> int:
        return int(self.vector_keys.shape[0])

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        # The table is data sized at initialize: take the saved shapes before copying values.
        for name in VECTOR_BUFFERS:
            saved = state_dict.get(prefix + name)
            if saved is not None:
                setattr(self, name, torch.empty_like(saved, device=self.oov.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def lookup(self, keys: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The table's vectors of `keys` (zeros where missing) and which keys it has."""
        n_keys = keys.shape[0]
        if self.n_rows == 0:
            return self.oov.new_zeros(n_keys, self.width), keys.new_zeros(n_keys, dtype=torch.bool)
        rows = torch.searchsorted(self.vector_keys, keys).clamp(max=self.n_rows - 1)
        found = self.vector_keys[rows] == keys
        codes = self.vector_codes[rows].long()  # (n_keys, n_subspaces)
        subspaces = torch.arange(codes.shape[1], device=codes.device)
        return self.vector_codebook[subspaces, codes].reshape(n_keys, -1), found

    def forward(self, keys: torch.Tensor) -> torch.Tensor:
        vectors, found = self.lookup(keys)
        return torch.where(found.unsqueeze(1), vectors, self.oov.expand_as(vectors))


class TokenEmbedding(nn.Module):
    """Token features -> one vector of `width` per token, for the encoder to read in context.

    Hashed attributes, the character CNN, the grammeme projection and the navec vectors are
    projected into one sum; `context_encoders` (slovnet's pretrained CNN encoders) embed each
    distinct word from its navec vector (with a mask of the words the table has) and its
    shape id, read whole documents cut into windows, and their per-token states are projected
    and added too. With `skip_scores`, the pretrained NER encoder's tag scores are appended
    after the `width` columns, for the layers after the encoder (`n_pass_through` columns).

    Tokens of the whole batch arrive as per-word features with each token's word row, and
    leave flat in the same order, so the thinc side never pads.
    """

    def __init__(
        self,
        *,
        hash_rows: Sequence[int],
        hash_width: int,
        n_chars: int,
        char_width: int,
        char_filters: int,
        char_kernel: int,
        n_morph: int,
        morph_width: int,
        vectors_width: int,
        width: int,
        dropout: float,
        word_dropout: float = 0.0,
        inference_precision: str = "float32",
        bucket_size: int = 8192,
        context_encoders: Sequence[nn.Module] = (),
        skip_scores: bool = False,
    ) -> None:
        super().__init__()
        self.bucket_size = bucket_size
        self.word_dropout = word_dropout
        self.inference_precision = check_inference_precision(inference_precision)
        self.hash_embeds = nn.ModuleList(
            nn.EmbeddingBag(rows, hash_width, mode="sum") for rows in hash_rows
        )
        self.chars = CharCNN(n_chars, char_width, char_filters, char_kernel) if char_filters else None
        self.morph = nn.Linear(n_morph, morph_width) if n_morph and morph_width else None
        self.vectors = QuantizedVectors(vectors_width) if vectors_width else None
        word_width = (
            (char_filters if self.chars is not None else 0)
            + (morph_width if self.morph is not None else 0)
            + vectors_width
        )
        self.dropout = nn.Dropout(dropout)
        # One projection of [hashed attrs; word features; context states], as separate
        # layers: the hashed attrs have their own bias, and absent inputs have no layer.
        self.project_tokens = nn.Linear(hash_width * len(hash_rows), width)
        self.project_words = nn.Linear(word_width, width, bias=False) if word_width else None
        self.context_encoders = nn.ModuleList(context_encoders)
        if self.context_encoders and self.vectors is None:
            raise ValueError("Pretrained context encoders read the word vectors: set vectors_width")
        context_width = sum(encoder.width for encoder in self.context_encoders)
        self.project_context = nn.Linear(context_width, width, bias=False) if context_width else None
        # Columns of the context states holding a pretrained tagger's tag scores, which
        # `skip_scores` appends to the output.
        self.skip_columns: Optional[Tuple[int, int]] = None
        if skip_scores:
            offset = 0
            for encoder in self.context_encoders:
                n_scores = getattr(encoder, "n_scores", 0)
                if n_scores:
                    self.skip_columns = (offset + encoder.width - n_scores, offset + encoder.width)
                    break
                offset += encoder.width
            else:
                raise ValueError("skip_scores needs a pretrained encoder that gives tag scores")
        self.width = width

    @property
    def n_pass_through(self) -> int:
        """Columns appended after the embedding: the pretrained tagger's tag scores."""
        if self.skip_columns is None:
            return 0
        return self.skip_columns[1] - self.skip_columns[0]

    @property
    def output_width(self) -> int:
        return self.width + self.n_pass_through

    def uses_bfloat16(self, device_type: str) -> bool:
        """Whether the pretrained encoders run under bfloat16 autocast: at inference only, as
        the BiLSTM decides (`BiLSTM.uses_bfloat16`)."""
        if self.training or self.inference_precision == "float32":
            return False
        return self.inference_precision == "bfloat16" or has_native_bfloat16(device_type)

    def embed(
        self,
        hash_ids: torch.Tensor,
        word_index: torch.Tensor,
        char_ids: Optional[torch.Tensor],
        morph: Optional[torch.Tensor],
        vectors: Optional[torch.Tensor],
    ) -> torch.Tensor:
        """Per-token input of the BiLSTM before its activation, from per-word features."""
        # Every input is per distinct word (see TokenFeatures); word_index maps tokens to rows.
        words: List[torch.Tensor] = []
        if self.chars is not None:
            words.append(self.chars(char_ids))
        if self.morph is not None:
            words.append(torch.relu(self.morph(morph)))
        if vectors is not None:
            words.append(vectors)
        if self.training:
            return self.embed_tokens_for_training(hash_ids, words, word_index)
        # The same linear maps as in training, applied once per distinct word, not per token.
        projected = self.project_tokens(self.embed_hashes(hash_ids))
        if self.project_words is not None:
            projected = projected + self.project_words(torch.cat(words, dim=1))
        return projected[word_index]

    def embed_hashes(self, hash_ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([embed(hash_ids[:, i]) for i, embed in enumerate(self.hash_embeds)], dim=1)

    def embed_tokens_for_training(
        self, hash_ids: torch.Tensor, words: List[torch.Tensor], word_index: torch.Tensor
    ) -> torch.Tensor:
        """Dropout masks per token, as for any other input feature."""
        tokens = self.project_tokens(self.dropout(self.embed_hashes(hash_ids[word_index])))
        if self.project_words is None:
            return tokens
        per_token = torch.cat(words, dim=1)[word_index]
        if self.vectors is not None and self.word_dropout > 0:
            # Some tokens read as out-of-vocabulary, as unseen names will at test time.
            unknown = torch.rand(per_token.shape[0], 1, device=per_token.device) < self.word_dropout
            vectors = per_token[:, -self.vectors.width :]
            vectors = torch.where(unknown, self.vectors.oov.expand_as(vectors), vectors)
            per_token = torch.cat([per_token[:, : -self.vectors.width], vectors], dim=1)
        return tokens + self.project_words(self.dropout(per_token))

    def context_precision(self, device_type: str) -> torch.autocast:
        """One autocast region for the pretrained encoders, on where `uses_bfloat16` says."""
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.uses_bfloat16(device_type))

    def encode_context(
        self,
        table_vectors: torch.Tensor,
        found: torch.Tensor,
        shape_ids: torch.Tensor,
        word_index: torch.Tensor,
        context_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """The context encoders' states of every token: (n_tokens, context width).

        They read `context_lengths` sequences (whole documents, cut into windows), not the
        BiLSTM's sentences: slovnet's encoders were trained on running text, and a sentence's
        first and last tokens read their neighbours across the boundary.
        """
        device = word_index.device
        positions: List[torch.Tensor] = []
        outputs: List[torch.Tensor] = []
        # One autocast region for the whole batch, so that weights are cast once.
        with self.context_precision(device.type):
            word_taps = [encoder.embed_words(table_vectors, found, shape_ids) for encoder in self.context_encoders]
            for _, padded, real in padded_groups(context_lengths, self.bucket_size, device):
                states = torch.cat(
                    [encoder(taps, word_index[padded], real) for encoder, taps in zip(self.context_encoders, word_taps)],
                    dim=2,
                )
                positions.append(padded[real])
                outputs.append(states[real])
        states = torch.cat(outputs).float()
        return states.new_empty((word_index.shape[0], states.shape[1])).index_copy(0, torch.cat(positions), states)

    def embed_tokens(
        self,
        hash_ids: torch.Tensor,
        word_index: torch.Tensor,
        char_ids: Optional[torch.Tensor],
        morph: Optional[torch.Tensor],
        vector_keys: Optional[torch.Tensor],
        shape_ids: Optional[torch.Tensor],
        lengths: torch.Tensor,
        context_lengths: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Every token's embedding (n_tokens, width), and the context encoders' states
        (n_tokens, context width) when there are context encoders."""
        vectors = found = None
        if self.vectors is not None:
            table_vectors, found = self.vectors.lookup(vector_keys)
            vectors = torch.where(found.unsqueeze(1), table_vectors, self.vectors.oov.expand_as(table_vectors))
        tokens = self.embed(hash_ids, word_index, char_ids, morph, vectors)
        context = None
        if self.project_context is not None:
            context_lengths = lengths if context_lengths is None else context_lengths
            context = self.encode_context(table_vectors, found, shape_ids, word_index, context_lengths)
            tokens = tokens + self.project_context(self.dropout(context))
        return torch.relu(tokens), context

    def forward(
        self,
        hash_ids: torch.Tensor,
        word_index: torch.Tensor,
        char_ids: Optional[torch.Tensor],
        morph: Optional[torch.Tensor],
        vector_keys: Optional[torch.Tensor],
        shape_ids: Optional[torch.Tensor],
        lengths: torch.Tensor,
        context_lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """(n_tokens, width + n_pass_through): the embedding, then the passed-through scores."""
        tokens, context = self.embed_tokens(
            hash_ids, word_index, char_ids, morph, vector_keys, shape_ids, lengths, context_lengths
        )
        if self.skip_columns is None or context is None:
            return tokens
        start, stop = self.skip_columns
        return torch.cat([tokens, context[:, start:stop]], dim=1)


class RaggedBiLSTM(nn.Module):
    """A BiLSTM over the sequences of a flat token batch: (n_tokens, width) in, (n_tokens,
    width) out, sequences of similar length padded together in groups (`padded_groups`)."""

    def __init__(
        self, width: int, depth: int, dropout: float = 0.0, inference_precision: str = "float32", bucket_size: int = 8192
    ) -> None:
        super().__init__()
        self.bucket_size = bucket_size
        self.lstm = BiLSTM(width, depth, dropout, inference_precision)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.dropout(read_sequences(self.lstm, tokens, lengths, self.bucket_size))


def read_sequences(lstm: BiLSTM, tokens: torch.Tensor, lengths: torch.Tensor, bucket_size: int) -> torch.Tensor:
    """The BiLSTM's states of every token of a flat batch of `lengths` sequences, in order."""
    positions: List[torch.Tensor] = []
    outputs: List[torch.Tensor] = []
    for group_lengths, padded, real in padded_groups(lengths, bucket_size, tokens.device):
        hidden = lstm(tokens[padded], group_lengths)
        positions.append(padded[real])
        outputs.append(hidden[real])
    hidden = torch.cat(outputs)
    return hidden.new_empty(hidden.shape).index_copy(0, torch.cat(positions), hidden)


class TagScores(nn.Module):
    """Each token's state -> one score (logit) per tag, read through a softmax: the loss is
    the cross-entropy of the known gold tags, decoding the argmax per token.

    Sized by the labels, so it is built at initialize; `config()` lets a saved pipeline
    rebuild it (see `torch_glue.serialize_module`).
    """

    def __init__(self, nI: int, nO: int) -> None:
        super().__init__()
        self.linear = nn.Linear(nI, nO)
        # Zero weights, as spaCy's tagger starts its output layer: no tag is preferred.
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def config(self) -> Dict[str, int]:
        return {"nI": self.linear.in_features, "nO": self.linear.out_features}

    @property
    def n_tags(self) -> int:
        return self.linear.out_features

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores of every token of a flat batch; the sequences matter to the loss only."""
        return self.linear(hidden)

    def set_tags(self, tags: Sequence[str]) -> None:
        """The tag names, in the order of the scores: a softmax needs only their number."""
        if len(tags) != self.n_tags:
            raise ValueError(f"{type(self).__name__} scores {self.n_tags} tags, got {len(tags)} tag names")

    def loss(self, scores: torch.Tensor, lengths: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy of flat scores against gold tag ids; -1 (unknown) is skipped."""
        return torch.nn.functional.cross_entropy(scores, gold, ignore_index=-1, reduction="sum")

    def decode(self, scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return scores.argmax(dim=1)

    def resized(self, old_tags: Sequence[str], new_tags: Sequence[str]) -> "TagScores":
        """A copy scoring `new_tags`: the weights of the known tags are kept (found by name,
        since the order may change), the new tags' start at zero."""
        missing = set(old_tags) - set(new_tags)
        if missing:
            raise ValueError(f"Cannot resize the tag scores: new tags lack {sorted(missing)}")
        index = [list(new_tags).index(tag) for tag in old_tags]
        larger = type(self)(**{**self.config(), "nO": len(new_tags)}).to(self.linear.weight.device)
        with torch.no_grad():
            larger.linear.weight[index] = self.linear.weight
            larger.linear.bias[index] = self.linear.bias
        larger.keep_tag_params(self, index)
        larger.set_tags(new_tags)
        return larger

    def keep_tag_params(self, smaller: "TagScores", index: Sequence[int]) -> None:
        """Copy the per-tag parameters other than the linear map's from `smaller`."""


class CRFTagScores(TagScores):
    """Tag scores (emissions) under a linear-chain CRF: the loss is the negative
    log-likelihood of the gold paths, decoding is Viterbi's best path. The CRF's transition,
    start and end scores are parameters of this module; the tag scheme's constraints are
    buffers, set from the tag names (`set_tags`)."""

    def __init__(self, nI: int, nO: int) -> None:
        super().__init__(nI, nO)
        self.crf = LinearChainCRF(nO)

    def set_tags(self, tags: Sequence[str]) -> None:
        self.crf.set_tags(tags)

    def loss(self, scores: torch.Tensor, lengths: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        return self.crf.nll(scores, lengths, gold)

    def decode(self, scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.crf.decode(scores, lengths)

    def keep_tag_params(self, smaller: TagScores, index: Sequence[int]) -> None:
        """The scores of known tags and of the transitions between them; new ones start at zero."""
        crf = cast(CRFTagScores, smaller).crf
        with torch.no_grad():
            rows = torch.as_tensor(list(index), dtype=torch.int64, device=self.crf.start.device)
            self.crf.transitions[rows.unsqueeze(1), rows.unsqueeze(0)] = crf.transitions
            self.crf.start[rows] = crf.start
            self.crf.end[rows] = crf.end


def padded_groups(
    lengths: torch.Tensor, bucket_size: int, device: torch.device
) -> Iterator[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Sequences of a flat token batch (one after the other, `lengths` long) in groups of
    similar length: (lengths, positions, real) per group, where positions (longest, n_seqs) are
    time-major indices into the flat batch and real marks the tokens. Padding repeats a
    sequence's first token, which a recurrent layer reads only after the real ones."""
    starts = torch.cumsum(lengths, 0) - lengths
    for group in length_buckets(lengths.tolist(), bucket_size):
        group_lengths = lengths[group]
        steps = torch.arange(int(group_lengths[0])).unsqueeze(1)
        real = steps < group_lengths.unsqueeze(0)
        group_starts = starts[group].unsqueeze(0)
        padded = torch.where(real, group_starts + steps, group_starts)
        yield group_lengths, padded.to(device), real.to(device)


def length_buckets(lengths: Sequence[int], bucket_size: int) -> List[List[int]]:
    """Group sequence indices of similar length, longest first, so that padding stays small:
    a group grows while (its size x its longest length) fits in `bucket_size` positions."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: List[List[int]] = []
    for i in order:
        if groups and lengths[groups[-1][0]] * (len(groups[-1]) + 1) <= bucket_size:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
