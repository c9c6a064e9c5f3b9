"""thinc glue of the NER's token embedding: docs -> features -> torch embedding -> Ragged rows per sequence."""
from typing import Callable, List, Optional, Tuple, cast

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v3, torch2xp, xp2torch
from thinc.types import Floats2d, Ragged

from ..torch_glue import torch_module, torch_predict
from .features import TokenFeatures, TokenFeaturizer, build_lexicon, load_gazetteers
from .modules import TokenEmbedding
from .slovnet import navec_unknown_vector, read_slovnet_pack
from .vectors import load_navec_table, load_navec_words


def token_embed(
    featurizer: TokenFeaturizer,
    module: TokenEmbedding,
    *,
    vectors: Optional[str],
) -> Model[List[Doc], Ragged]:
    """Featurize docs and embed every token: `Ragged` rows whose lengths are the sequences the
    encoder reads (sentences, cut into `window` tokens).

    The torch module is sized by the config, so it is wrapped eagerly: loading needs no
    `init`, and no wrapper appears in `initialize` that a saved pipeline lacks (spaCy #8319).
    The output has `nO` columns: the embedding's width, then `n_pass_through` columns (the
    pretrained tagger's scores) that the layers after the encoder read directly.
    """
    wrapper = PyTorchWrapper_v3(
        module, convert_inputs=convert_feature_inputs, convert_outputs=convert_embedding_outputs
    )
    return Model(
        "russian_token_embed",
        embed_forward,
        init=embed_init,
        layers=[featurizer, wrapper],
        refs={"featurizer": featurizer, "embedding": wrapper},
        dims={"nO": module.output_width},
        attrs={
            "vectors": None if vectors is None else str(vectors),
            "n_pass_through": module.n_pass_through,
        },
    )


def embed_forward(model: Model[List[Doc], Ragged], docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    featurizer, wrapper = model.layers
    features, _ = featurizer(docs, is_train)
    lengths = model.ops.asarray1i(features.seq_lengths)
    if features.n_tokens == 0:
        # Handle batches with no tokens at all: torch never sees an empty sequence.
        return Ragged(model.ops.alloc2f(0, model.get_dim("nO")), lengths), lambda dY: []
    if not is_train:
        return Ragged(torch_predict(wrapper, features), lengths), lambda dY: []
    rows, backprop_wrapper = wrapper(features, is_train)

    def backprop(dY: Ragged) -> List[Doc]:
        backprop_wrapper(dY.dataXd)
        return []

    return Ragged(rows, lengths), backprop


def convert_feature_inputs(model: Model, features: TokenFeatures, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
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


def convert_embedding_outputs(
    model: Model, inputs_outputs: Tuple[TokenFeatures, torch.Tensor], is_train: bool
) -> Tuple[Floats2d, Callable]:
    _, output = inputs_outputs

    def convert_for_torch_backward(d_output: Floats2d) -> ArgsKwargs:
        d_torch = xp2torch(d_output, device=output.device)
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": d_torch})

    return torch2xp(output), convert_for_torch_backward


def embed_init(model: Model[List[Doc], Ragged], X: Optional[List[Doc]] = None, Y=None) -> None:
    """Read the data the embedding keeps in its weights: gazetteers, the lexicon, the navec
    table and the pretrained encoders."""
    load_embedding_data(
        model.get_ref("featurizer"),
        cast(TokenEmbedding, torch_module(model.get_ref("embedding"))),
        vectors=model.attrs["vectors"],
    )


def load_embedding_data(featurizer: TokenFeaturizer, module: TokenEmbedding, *, vectors: Optional[str]) -> None:
    """Gazetteer entries and the lexicon into the featurizer, the navec table and the slovnet
    packs into the module. Run once, at initialize: then they are saved with the model."""
    load_gazetteers(featurizer)
    if featurizer.attrs["use_lexicon"]:
        if not vectors:
            raise ValueError(
                "lexicon = true precomputes grammemes for the vector table's words: set "
                "`vectors` ('natasha' or a navec .tar path) or set lexicon = false."
            )
        build_lexicon(featurizer, load_navec_words(vectors))
    if module.vectors is not None:
        if not vectors:
            raise ValueError(
                "The embedding has a vectors_width but no vectors source: set `vectors` in the "
                "architecture config ('natasha' or a navec .tar path) or set vectors_width = 0."
            )
        keys, codes, codebook = load_navec_table(vectors)
        if codebook.shape[0] * codebook.shape[2] != module.vectors.width:
            raise ValueError(
                f"vectors_width = {module.vectors.width} but {vectors} has "
                f"{codebook.shape[0] * codebook.shape[2]}-dimensional vectors"
            )
        module.vectors.set_table(torch.from_numpy(keys), torch.from_numpy(codes), torch.from_numpy(codebook))
    if len(module.context_encoders):
        # slovnet's encoders read the same navec table, so they share it instead of a copy.
        unknown_vector = navec_unknown_vector(cast(str, vectors))
        for encoder in module.context_encoders:
            encoder.load_pack(read_slovnet_pack(encoder.pack), unknown_vector)


__all__ = ["embed_forward", "embed_init", "load_embedding_data", "token_embed"]
