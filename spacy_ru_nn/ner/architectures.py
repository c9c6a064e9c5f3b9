"""Registered builders of the NER model and its sublayers. Only builders live here."""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Ragged

from .embed import token_embed
from .encoders import bilstm_encoder
from .features import TokenFeaturizer, n_lexical_features
from .modules import TokenEmbedding
from .slovnet import slovnet_encoders
from .tagger import crf_tag_output, entity_tagger, softmax_tag_output


@registry.architectures("spacy-ru-nn.EntityTagger.v1")
def build_entity_tagger_v1(
    embed: Model[List[Doc], Ragged], encode: Model[Ragged, Ragged], output: Model[Ragged, Ragged]
) -> Model[List[Doc], Ragged]:
    """Per-token tag scores for `bilstm_ner`: embed -> encode -> output.

    embed (Model[List[Doc], Ragged]): Token vectors, one row per token, with the sequences the
        encoder reads as lengths; columns it reports as `n_pass_through` skip the encoder.
    encode (Model[Ragged, Ragged]): Reads each token in the context of its sequence.
    output (Model[Ragged, Ragged]): Tag scores per token, sized by the tags at initialize; it
        owns the loss and the decoding (CRF or softmax).
    """
    return entity_tagger(embed, encode, output)


@registry.architectures("spacy-ru-nn.RussianTokenEmbed.v1")
def build_russian_token_embed_v1(
    width: int,
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
    lexicon: bool,
    gazetteers: List[str],
    word_dropout: float,
    window: int,
    pretrained: List[str],
    pretrained_outputs: str,
    fine_tune_pretrained: bool,
    pretrained_skip: bool,
    inference_precision: str,
) -> Model[List[Doc], Ragged]:
    """Russian token vectors: the sum of projected features, each of which can be turned off.

    width (int): Width of the token vectors (the encoder's input width).
    attrs, rows: Token attributes embedded by hashing, and the bucket count for each.
    hash_width (int): Width of each hashed attribute embedding.
    char_width, char_filters, char_kernel, max_chars, n_chars: Character CNN; char_filters = 0
        turns it off.
    morphology (bool): Add pymorphy3 grammeme features (Name, Surn, Geox, Orgn, case, ...).
    morph_width (int): Width the grammeme vector is projected to.
    vectors (Optional[str]): 'natasha' for the navec vectors inside natasha, a navec .tar path,
        or null. Read once at initialize and stored in the model.
    vectors_width (int): Dimension of those vectors (300 for navec); 0 turns vectors off.
    lexicon (bool): Precompute the grammemes and gazetteer flags of every word of the vector
        table at initialize and store them in the model, so that pymorphy3 runs only for
        words outside it.
    gazetteers (List[str]): Word lists, one flag each (a word or its lemma is in the list):
        natasha's 'first', 'last', 'maybe_first' or paths to UTF-8 files, one entry per line.
        Read at initialize and stored in the model.
    word_dropout (float): In training, the share of tokens whose word vector is replaced by the
        learned out-of-vocabulary vector, so the model learns to tag unseen names from context.
    window (int): Longest token sequence the encoder reads: docs are cut into sentences (when
        they have them), then into pieces of at most `window` tokens, which bounds memory on
        huge documents. These sequences are the lengths of the output.
    pretrained (List[str]): Pretrained encoders whose per-token states are added: 'slovnet_ner'
        and/or 'slovnet_morph', the CNN encoders of natasha's slovnet news models (their
        knowledge comes from Nerus, a silver corpus licensed CC BY-NC-SA 4.0). They read the
        navec table, so `vectors` must be 'natasha'. Read at initialize and stored in the model.
    pretrained_outputs (str): What slovnet's NER encoder contributes: 'hidden' (its 64
        convolution states), 'scores' (its 8 tag scores) or 'both'. The morphology encoder
        always contributes its hidden states.
    fine_tune_pretrained (bool): Train the pretrained encoders' weights with the rest, or keep
        them frozen.
    pretrained_skip (bool): Also append slovnet's NER tag scores after the `width` columns
        (`n_pass_through`), so that they skip the encoder and reach the output layer as they
        are (needs pretrained_outputs 'scores' or 'both').
    inference_precision (str): 'float32', 'bfloat16' or 'auto': the precision of the pretrained
        encoders at inference, as the BiLSTM encoder's setting of the same name.
    """
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
    module = TokenEmbedding(
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
        # Dropout comes from `[training] dropout` (torch_glue.set_torch_dropout_rate).
        dropout=0.0,
        word_dropout=word_dropout,
        inference_precision=inference_precision,
        context_encoders=slovnet_encoders(pretrained, pretrained_outputs, fine_tune_pretrained),
        skip_scores=pretrained_skip,
    )
    return token_embed(featurizer, module, vectors=vectors)


@registry.architectures("spacy-ru-nn.BiLSTMEncoder.v1")
def build_bilstm_encoder_v1(width: int, depth: int, inference_precision: str) -> Model[Ragged, Ragged]:
    """A BiLSTM over each sequence: reads and gives `width` columns per token.

    width (int): Width of the input and of the output (both directions together; even).
    depth (int): Number of stacked BiLSTM layers.
    inference_precision (str): 'float32', 'bfloat16' or 'auto'. With bfloat16 the BiLSTM runs
        under torch.autocast at inference (training stays float32), which is faster where
        the hardware has native bfloat16 (AVX512-BF16 or AMX CPUs, recent GPUs) and slower
        where it is emulated. 'auto' uses it only where native.
    """
    return bilstm_encoder(width, depth, inference_precision)


@registry.architectures("spacy-ru-nn.CRFTagOutput.v1")
def build_crf_tag_output_v1() -> Model[Ragged, Ragged]:
    """Tag scores (emissions) under a linear-chain CRF: the loss scores whole tag sequences
    (learned transitions; the transitions the tag scheme forbids, such as I-PER after O, are
    never taken) and decoding finds the best sequence (Viterbi)."""
    return crf_tag_output()


@registry.architectures("spacy-ru-nn.SoftmaxTagOutput.v1")
def build_softmax_tag_output_v1() -> Model[Ragged, Ragged]:
    """Tag scores (logits) read through a softmax per token: cross-entropy loss, argmax decoding."""
    return softmax_tag_output()
