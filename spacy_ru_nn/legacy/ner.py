"""`spacy-ru-nn.BiLSTMTagger.v1`/`.v2`: the single-builder NER model, kept so that pipelines saved with it load and predict as they did.

The model is one torch module (`BiLSTMTokenEncoder`: the token embedding and the BiLSTM), then
a thinc `Linear` (with a CRF) or `Softmax_v2` per token, and a thinc layer that only holds the
CRF's parameters. Its state_dict keys, thinc node names and attrs are those of the saved
pipelines: the building blocks it shares with `spacy_ru_nn.ner` keep their attribute names.
`LegacyTagging` gives the component the same `predict_tags`/`get_loss`/`set_tags` as
`spacy_ru_nn.ner.tagger`.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy
import torch
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Linear, Model, PyTorchWrapper_v2, SequenceCategoricalCrossentropy, Softmax_v2
from thinc.api import torch2xp, xp2torch
from thinc.initializers import zero_init
from thinc.types import Floats1d, Floats2d, FloatsXd, Ints1d

from ..compat import replace_layer
from ..bilstm import BiLSTM
from ..ner.crf import allowed_transitions, log_partition, viterbi
from ..ner.embed import load_embedding_data
from ..ner.features import TokenFeatures, TokenFeaturizer, n_lexical_features, sequence_lengths
from ..ner.modules import TokenEmbedding, read_sequences
from ..ner.slovnet import slovnet_encoders
from ..torch_glue import torch_module

NEG = -1e4


class BiLSTMTokenEncoder(TokenEmbedding):
    """Token features -> embeddings -> projection -> BiLSTM over each sequence, in one module
    (then the skipped tag scores). The pretrained encoders run in bfloat16 wherever the
    BiLSTM does."""

    def __init__(self, *, depth: int, inference_precision: str = "float32", **settings) -> None:
        super().__init__(inference_precision=inference_precision, **settings)
        self.lstm = BiLSTM(self.width, depth, settings["dropout"], inference_precision)

    def uses_bfloat16(self, device_type: str) -> bool:
        return self.lstm.uses_bfloat16(device_type)

    def forward(  # type: ignore[override]
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
        tokens, context = self.embed_tokens(
            hash_ids, word_index, char_ids, morph, vector_keys, shape_ids, lengths, context_lengths
        )
        output = self.dropout(read_sequences(self.lstm, tokens, lengths, self.bucket_size))
        if self.skip_columns is not None and context is not None:
            start, stop = self.skip_columns
            output = torch.cat([output, context[:, start:stop]], dim=1)
        return output


def TorchTokenEncoder(module: BiLSTMTokenEncoder) -> Model[TokenFeatures, Floats2d]:
    return PyTorchWrapper_v2(module, convert_inputs=convert_encoder_inputs, convert_outputs=convert_encoder_outputs)


def convert_encoder_inputs(model: Model, features: TokenFeatures, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    def as_tensor(array):
        return None if array is None else xp2torch(model.ops.asarray(array))

    args = (
        as_tensor(features.hash_ids),
        as_tensor(features.word_index),
        as_tensor(features.char_ids),
        as_tensor(features.morph),
        as_tensor(features.vector_keys),
        as_tensor(features.shape_ids),
        torch.as_tensor(features.seq_lengths, dtype=torch.int64),
        None if features.context_lengths is None else torch.as_tensor(features.context_lengths, dtype=torch.int64),
    )
    return ArgsKwargs(args=args, kwargs={}), lambda d_inputs: []


def convert_encoder_outputs(
    model: Model, inputs_outputs: Tuple[TokenFeatures, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable]:
    _, output = inputs_outputs

    def convert_for_torch_backward(d_output: Floats2d) -> ArgsKwargs:
        d_torch = xp2torch(d_output, device=output.device)
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": d_torch})

    return torch2xp(output), convert_for_torch_backward


def CRFTransitions() -> Model[Floats2d, Floats2d]:
    """Holds the learned transition, start and end scores; passes its input through."""
    return Model(
        "crf_transitions",
        _pass_through,
        init=_init_transitions,
        dims={"nO": None},
        params={"transitions": None, "start": None, "end": None},
    )


def _pass_through(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    return X, lambda dY: dY


def _init_transitions(model: Model, X=None, Y=None) -> None:
    n_tags = model.get_dim("nO")
    model.set_param("transitions", model.ops.alloc2f(n_tags, n_tags))
    model.set_param("start", model.ops.alloc1f(n_tags))
    model.set_param("end", model.ops.alloc1f(n_tags))


def BiLSTMTagger(
    featurizer: Model[List[Doc], TokenFeatures],
    encoder: Model[TokenFeatures, Floats2d],
    *,
    width: int,
    vectors: Optional[str],
    crf: bool,
    pretrained: Sequence[str] = (),
) -> Model[List[Doc], List[Floats2d]]:
    """Per-token tag scores for each doc: softmax probabilities, or, with a CRF, the emission
    logits the CRF layer (ref "crf", transition params only) scores paths over."""
    layers = [featurizer, encoder]
    refs = {"featurizer": featurizer, "encoder": encoder}
    if crf:
        output_layer = Linear(nI=width, init_W=zero_init)
        refs["crf"] = CRFTransitions()
    else:
        output_layer = Softmax_v2(nI=width, init_W=zero_init)
    refs["output_layer"] = output_layer
    layers.append(output_layer)
    if crf:
        layers.append(refs["crf"])
    return Model(
        "bilstm_tagger",
        tagger_forward,
        init=tagger_init,
        layers=layers,
        refs=refs,
        dims={"nO": None},
        attrs={"vectors": None if vectors is None else str(vectors), "pretrained": list(pretrained)},
    )


def tagger_init(model: Model[List[Doc], List[Floats2d]], X: Optional[List[Doc]] = None, Y=None) -> None:
    output_layer = model.get_ref("output_layer")
    if Y is not None and not output_layer.has_dim("nO"):
        output_layer.set_dim("nO", Y[0].shape[1])
    if model.has_dim("nO") is True and not output_layer.has_dim("nO"):
        output_layer.set_dim("nO", model.get_dim("nO"))
    output_layer.initialize()
    model.set_dim("nO", output_layer.get_dim("nO"))
    if model.has_ref("crf"):
        crf = model.get_ref("crf")
        if not crf.has_dim("nO"):
            crf.set_dim("nO", output_layer.get_dim("nO"))
        crf.initialize()
    module = cast(BiLSTMTokenEncoder, torch_module(model.get_ref("encoder")))
    load_embedding_data(model.get_ref("featurizer"), module, vectors=model.attrs["vectors"])


def tagger_forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    featurizer, encoder, output_layer = model.layers[:3]
    features, _ = featurizer(docs, is_train)
    n_tags = output_layer.get_dim("nO")
    if features.n_tokens == 0:
        return [model.ops.alloc2f(n, n_tags) for n in features.doc_lengths], lambda dY: []
    hidden, backprop_encoder = encoder(features, is_train)
    scores, backprop_output = output_layer(hidden, is_train)
    lengths = model.ops.asarray1i(features.doc_lengths)
    per_doc = model.ops.unflatten(scores, lengths)

    def backprop(d_per_doc: List[Floats2d]) -> List[Doc]:
        d_scores = model.ops.flatten(d_per_doc)
        backprop_encoder(backprop_output(d_scores))
        return []

    return per_doc, backprop


class CRF:
    """The CRF of the layer's params with the constraints folded in, built per batch."""

    def __init__(
        self,
        transitions: torch.Tensor,
        start: torch.Tensor,
        end: torch.Tensor,
        allowed: numpy.ndarray,
        allowed_start: numpy.ndarray,
    ) -> None:
        penalty = torch.from_numpy(numpy.where(allowed, 0.0, NEG).astype("float32"))
        start_penalty = torch.from_numpy(numpy.where(allowed_start, 0.0, NEG).astype("float32"))
        self.transitions = transitions + penalty.to(transitions.device)
        self.start = start + start_penalty.to(start.device)
        self.end = end

    def nll(self, emissions: torch.Tensor, lengths: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        full = log_partition(emissions, lengths, self.transitions, self.start, self.end)
        gold_paths = log_partition(emissions, lengths, self.transitions, self.start, self.end, gold)
        return (full - gold_paths).sum()

    def viterbi(self, emissions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return viterbi(emissions, lengths, self.transitions, self.start, self.end)


def crf_from_layer(layer: Model, tags: Sequence[str], requires_grad: bool) -> Tuple[CRF, Callable]:
    """A CRF on the layer's params, and a function that sends their gradients back to thinc."""
    params = {
        name: torch.tensor(layer.ops.to_numpy(layer.get_param(name)), requires_grad=requires_grad)
        for name in ("transitions", "start", "end")
    }
    allowed, allowed_start = allowed_transitions(tags)
    crf = CRF(params["transitions"], params["start"], params["end"], allowed, allowed_start)

    def send_gradients() -> None:
        for name, tensor in params.items():
            if tensor.grad is not None:
                layer.inc_grad(name, layer.ops.asarray(tensor.grad.numpy()))

    return crf, send_gradients


def pad_sequences(pieces: List[numpy.ndarray], fill: float) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Stack variable-length arrays time-major: (max_len, n_seqs, ...) plus lengths."""
    lengths = numpy.array([len(p) for p in pieces], dtype=numpy.int64)
    shape = (int(lengths.max(initial=0)), len(pieces), *pieces[0].shape[1:])
    padded = numpy.full(shape, fill, dtype=pieces[0].dtype)
    for i, piece in enumerate(pieces):
        padded[: len(piece), i] = piece
    return padded, lengths


def grow_tagger_output(model: Model, old_tags: Sequence[str], new_tags: Sequence[str]) -> None:
    """Resize the output layer and CRF (refs "output_layer" and "crf") from old_tags to
    new_tags, keeping the rows of the old tags; new layers (new ids), so no optimizer state
    of the old shapes is applied to them. An output layer without weights yet is left for
    `initialize` to size."""
    output_layer = model.get_ref("output_layer")
    if not output_layer.has_param("W"):
        return
    missing = set(old_tags) - set(new_tags)
    if missing:
        raise ValueError(f"Cannot resize the tagger: new tags lack {sorted(missing)}")
    new_index = [list(new_tags).index(tag) for tag in old_tags]
    W = output_layer.ops.alloc2f(len(new_tags), output_layer.get_param("W").shape[1])
    b = output_layer.ops.alloc1f(len(new_tags))
    W[new_index] = output_layer.get_param("W")
    b[new_index] = output_layer.get_param("b")
    _replace_ref(model, "output_layer", _resized_copy(output_layer, {"W": W, "b": b}))
    if model.has_ref("crf"):
        crf = model.get_ref("crf")
        transitions = crf.ops.alloc2f(len(new_tags), len(new_tags))
        start: Floats1d = crf.ops.alloc1f(len(new_tags))
        end: Floats1d = crf.ops.alloc1f(len(new_tags))
        transitions[crf.ops.xp.ix_(new_index, new_index)] = crf.get_param("transitions")
        start[new_index] = crf.get_param("start")
        end[new_index] = crf.get_param("end")
        _replace_ref(model, "crf", _resized_copy(crf, {"transitions": transitions, "start": start, "end": end}))
    model.set_dim("nO", len(new_tags), force=True)


def _resized_copy(layer: Model, params: Dict[str, FloatsXd]) -> Model:
    copy = layer.copy()
    for name in copy.param_names:
        copy.set_param(name, None)
    copy.set_dim("nO", next(iter(params.values())).shape[0], force=True)
    for name, value in params.items():
        copy.set_param(name, value)
        copy.set_grad(name, copy.ops.alloc(value.shape, dtype=value.dtype))
    return copy


def _replace_ref(model: Model, ref: str, new: Model) -> None:
    replace_layer(model, model.get_ref(ref), new)
    model.set_ref(ref, new)


class LegacyTagging:
    """`predict_tags`, `get_loss`, `set_tags` and `is_initialized` of `spacy_ru_nn.ner.tagger`
    for a `bilstm_tagger` model. The model does not know its tags: the component gives them."""

    def __init__(self, tags: Sequence[str]) -> None:
        self.tags = list(tags)

    @staticmethod
    def is_initialized(model: Model) -> bool:
        return model.get_ref("output_layer").has_dim("nO") is True

    def set_tags(self, model: Model, tags: Sequence[str]) -> None:
        grow_tagger_output(model, self.tags, tags)
        self.tags = list(tags)

    def predict_tags(self, model: Model, docs: List[Doc]) -> List[Ints1d]:
        scores = [model.ops.to_numpy(s) for s in model.predict(docs)]
        if not model.has_ref("crf"):
            return [doc_scores.argmax(axis=1) for doc_scores in scores]
        crf, _ = crf_from_layer(model.get_ref("crf"), self.tags, requires_grad=False)
        emissions, seq_lengths = pad_sequences(_sequences(model, docs, scores), 0.0)
        with torch.no_grad():
            best = crf.viterbi(torch.from_numpy(emissions), torch.from_numpy(seq_lengths)).numpy()
        flat = numpy.concatenate([best[:n, i] for i, n in enumerate(seq_lengths)])
        return numpy.split(flat, numpy.cumsum([len(doc) for doc in docs])[:-1])

    def get_loss(
        self, model: Model, docs: List[Doc], scores: List[Floats2d], gold: List[Ints1d]
    ) -> Tuple[float, List[Floats2d]]:
        if not model.has_ref("crf"):
            names = [[self.tags[i] if i >= 0 else None for i in doc_gold] for doc_gold in gold]
            loss_func = SequenceCategoricalCrossentropy(names=self.tags, normalize=False)
            d_scores, loss = loss_func(scores, names)
            return float(loss), d_scores
        numpy_scores = [model.ops.to_numpy(s) for s in scores]
        emissions, seq_lengths = pad_sequences(_sequences(model, docs, numpy_scores), 0.0)
        gold_padded, _ = pad_sequences(_sequences(model, docs, [numpy.asarray(g, dtype="int64") for g in gold]), -1)
        crf, send_gradients = crf_from_layer(model.get_ref("crf"), self.tags, requires_grad=True)
        emissions_t = torch.from_numpy(emissions).requires_grad_()
        loss = crf.nll(emissions_t, torch.from_numpy(seq_lengths), torch.from_numpy(gold_padded))
        loss.backward()
        send_gradients()
        d_emissions = cast(torch.Tensor, emissions_t.grad).numpy()
        flat = numpy.concatenate([d_emissions[:n, i] for i, n in enumerate(seq_lengths)])
        d_flat = numpy.split(flat, numpy.cumsum([len(doc) for doc in docs])[:-1])
        return float(loss.item()), [model.ops.asarray2f(d) for d in d_flat]


def _sequences(model: Model, docs: List[Doc], per_doc: List[numpy.ndarray]) -> List[numpy.ndarray]:
    """Cut per-doc arrays into the same sentence/window sequences the BiLSTM reads."""
    lengths = sequence_lengths(docs, model.get_ref("featurizer").attrs["window"])
    flat = numpy.concatenate([a for a in per_doc if len(a)])
    return numpy.split(flat, numpy.cumsum(lengths)[:-1])


def is_legacy_tagger(model: Model) -> bool:
    return model.name == "bilstm_tagger"


@registry.architectures("spacy-ru-nn.BiLSTMTagger.v2")
def build_bilstm_tagger_v2(
    width: int,
    depth: int,
    attrs: List[str],
    rows: List[int],
    hash_width: int,
    char_width: int,
    char_filters: int,
    char_kernel: int,
    max_chars: int,
    n_chars: int,
    morphology: bool,
    morph_width: int,
    vectors: Optional[str],
    vectors_width: int,
    window: int,
    crf: bool,
    gazetteers: List[str] = [],
    lexicon: bool = False,
    word_dropout: float = 0.0,
    inference_precision: str = "float32",
    pretrained: List[str] = [],
    pretrained_outputs: str = "both",
    fine_tune_pretrained: bool = False,
    pretrained_skip: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """Token features [-> pretrained context encoders] -> BiLSTM -> per-token tag scores, built
    from one flat list of settings. `spacy-ru-nn.EntityTagger.v1` composes the same model
    from registered sublayers; the settings are documented there."""
    use_chars = char_filters > 0
    if vectors is None:
        vectors_width = 0
    if pretrained and not vectors_width:
        raise ValueError(
            f"pretrained = {pretrained} reads navec's word vectors: set vectors = 'natasha' "
            "and vectors_width = 300"
        )
    if pretrained_skip and ("slovnet_ner" not in pretrained or pretrained_outputs == "hidden"):
        raise ValueError(
            "pretrained_skip passes slovnet_ner's tag scores to the output layer: add 'slovnet_ner' "
            "to pretrained and set pretrained_outputs to 'scores' or 'both'"
        )
    featurizer = TokenFeaturizer(
        attrs,
        rows,
        n_chars=n_chars,
        max_chars=max_chars,
        use_chars=use_chars,
        use_morphology=morphology,
        gazetteers=gazetteers,
        use_lexicon=lexicon and (morphology or bool(gazetteers)),
        use_shapes=bool(pretrained),
        window=window,
    )
    module = BiLSTMTokenEncoder(
        hash_rows=rows,
        hash_width=hash_width,
        n_chars=n_chars,
        char_width=char_width,
        char_filters=char_filters,
        char_kernel=char_kernel,
        n_morph=n_lexical_features(morphology, gazetteers),
        morph_width=morph_width,
        vectors_width=vectors_width,
        width=width,
        depth=depth,
        dropout=0.0,
        word_dropout=word_dropout,
        inference_precision=inference_precision,
        context_encoders=slovnet_encoders(pretrained, pretrained_outputs, fine_tune_pretrained),
        skip_scores=pretrained_skip,
    )
    return BiLSTMTagger(
        featurizer,
        TorchTokenEncoder(module),
        width=module.output_width,
        vectors=vectors,
        crf=crf,
        pretrained=pretrained,
    )


@registry.architectures("spacy-ru-nn.BiLSTMTagger.v1")
def build_bilstm_tagger_v1(
    width: int,
    depth: int,
    attrs: List[str],
    rows: List[int],
    hash_width: int,
    char_width: int,
    char_filters: int,
    char_kernel: int,
    max_chars: int,
    n_chars: int,
    morphology: bool,
    morph_width: int,
    vectors: Optional[str],
    vectors_width: int,
    window: int,
    crf: bool,
    gazetteers: List[str] = [],
    lexicon: bool = False,
    word_dropout: float = 0.0,
    inference_precision: str = "float32",
) -> Model[List[Doc], List[Floats2d]]:
    """`spacy-ru-nn.BiLSTMTagger.v2` without pretrained encoders."""
    return build_bilstm_tagger_v2(**locals())


__all__ = [
    "BiLSTMTagger",
    "BiLSTMTokenEncoder",
    "CRFTransitions",
    "LegacyTagging",
    "build_bilstm_tagger_v1",
    "build_bilstm_tagger_v2",
    "grow_tagger_output",
    "is_legacy_tagger",
]
