"""thinc glue for the BiLSTM tagger: featurizer -> torch encoder -> softmax head, per doc."""
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union, cast

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Linear, Model, PyTorchWrapper_v2, Softmax_v2, torch2xp, xp2torch
from thinc.initializers import zero_init
from thinc.types import Floats2d

from .crf import CRFTransitions
from .features import TokenFeatures, build_lexicon, load_gazetteers
from .slovnet import navec_unknown_vector, read_slovnet_pack
from ..torch_glue import torch_module
from .torch_modules import BiLSTMTokenEncoder
from .vectors import load_navec_table, load_navec_words


def TorchTokenEncoder(module: BiLSTMTokenEncoder) -> Model[TokenFeatures, Floats2d]:
    """Wrap the encoder eagerly: its size comes from the config, so loading needs no init, and
    no wrapper appears in `initialize` that a saved pipeline lacks (spaCy #8319)."""
    return PyTorchWrapper_v2(
        module,
        convert_inputs=convert_encoder_inputs,
        convert_outputs=convert_encoder_outputs,
    )


def convert_encoder_inputs(
    model: Model, features: TokenFeatures, is_train: bool
) -> Tuple[ArgsKwargs, Callable]:
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
    # Every input is an id or a fixed feature: nothing to send back.
    return ArgsKwargs(args=args, kwargs={}), lambda d_inputs: []


def convert_encoder_outputs(
    model: Model, inputs_outputs: Tuple[TokenFeatures, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable]:
    _, output = inputs_outputs

    def convert_for_torch_backward(d_output: Floats2d) -> ArgsKwargs:
        d_torch = xp2torch(d_output, device=output.device)
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": d_torch})

    return torch2xp(output), convert_for_torch_backward


def BiLSTMTagger(
    featurizer: Model[List[Doc], TokenFeatures],
    encoder: Model[TokenFeatures, Floats2d],
    *,
    width: int,
    vectors: Optional[Union[str, Path]],
    crf: bool,
    pretrained: Sequence[str] = (),
) -> Model[List[Doc], List[Floats2d]]:
    """Per-token tag scores for each doc. The head is sized lazily from the labels.

    Without a CRF the scores are softmax probabilities; with one they are the emission logits
    the CRF layer (ref "crf", transition params only) scores paths over.
    """
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


def tagger_init(
    model: Model[List[Doc], List[Floats2d]],
    X: Optional[List[Doc]] = None,
    Y: Optional[List[Floats2d]] = None,
) -> None:
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
    featurizer = model.get_ref("featurizer")
    load_gazetteers(featurizer)
    if featurizer.attrs["use_lexicon"]:
        if not model.attrs["vectors"]:
            raise ValueError(
                "lexicon = true precomputes grammemes for the vector table's words: set "
                "`vectors` ('natasha' or a navec .tar path) or set lexicon = false."
            )
        build_lexicon(featurizer, load_navec_words(model.attrs["vectors"]))
    module = cast(BiLSTMTokenEncoder, torch_module(model.get_ref("encoder")))
    if module.vectors is not None:
        source = model.attrs["vectors"]
        if not source:
            raise ValueError(
                "The encoder has a vectors_width but no vectors source: set `vectors` in the "
                "architecture config ('natasha' or a navec .tar path) or set vectors_width = 0."
            )
        keys, codes, codebook = load_navec_table(source)
        if codebook.shape[0] * codebook.shape[2] != module.vectors.width:
            raise ValueError(
                f"vectors_width = {module.vectors.width} but {source} has "
                f"{codebook.shape[0] * codebook.shape[2]}-dimensional vectors"
            )
        module.vectors.set_table(
            torch.from_numpy(keys), torch.from_numpy(codes), torch.from_numpy(codebook)
        )
    if model.attrs["pretrained"]:
        # slovnet's encoders read the same navec table, so they share it instead of a copy.
        unknown_vector = navec_unknown_vector(model.attrs["vectors"])
        for name, encoder in zip(model.attrs["pretrained"], module.context_encoders):
            encoder.load_pack(read_slovnet_pack(name), unknown_vector)


def tagger_forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    featurizer, encoder, output_layer = model.layers[:3]
    features, _ = featurizer(docs, is_train)
    n_tags = output_layer.get_dim("nO")
    if features.n_tokens == 0:
        # Handle batches with no tokens at all: the LSTM must never see an empty sequence.
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
