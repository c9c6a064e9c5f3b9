"""`spacy-ru-nn.NgramVectorizer.v1`'s layer: docs -> weighted bags of n-gram feature ids.

The bags are the inputs of an EmbeddingBag first layer.

The steps, in the order data flows through them:

* n-gram keys: each doc's word n-grams (one `ops.ngrams` hash per n for the whole batch, never
  per message) and unigrams of extra token attributes such as SHAPE, as uint64 keys; whitespace
  tokens are layout, not words, and are skipped.
* feature ids: hash buckets (`features = "hash"`), or the positions of the keys in the
  vocabulary fitted at initialize (`"vocab"`, looked up through an open-addressing table);
  keys outside it are dropped.
* weights: each feature once per doc with its count, 1, or its tf-idf (smoothed idf,
  L2-normalized per doc), optionally sublinear. A few vectorized passes over the batch's keys,
  one sort of (doc, feature) codes and no per-doc Python; a doc's bag depends on its own keys
  only, so it is the same alone or in any batch.
* character n-grams (`char_ngram_range`): each distinct word of the batch as a bag of its
  character n-gram features, and each doc as a bag of its words' bags. A word's n-grams are
  hashed and looked up once, the first time the layer sees the word, and a word's rows stay
  the same from batch to batch, so a model can sum them once per word instead of once per
  token. With tf-idf the doc's sum of its words'
  vectors is divided by the root of the sum of their squared norms, the L2 norm were different
  words to share no n-gram: cheap per token, and as good on the spam folds as the exact norm.

The vocabularies and idf tables fitted at initialize are the layer's state: plain numpy arrays
in its attrs, which thinc saves with the model. What is derived from them (the key tables,
the words' n-gram bags) and from the vocab (the lexeme table) are caches, plain attributes of
the layer, rebuilt when the arrays they were built from are replaced (initialize, from_bytes)
and never saved.
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy
from spacy.attrs import IS_SPACE, LOWER, ORTH
from spacy.strings import StringStore, hash_string
from spacy.tokens import Doc
from thinc.api import Model, NumpyOps

from .arrays import GrowingArray, KeyTable, count_pairs, offsets_of, ragged_take, root_sums, rows_adding
from .tokens import LexemeColumns, check_range, token_attr_id, token_columns

FEATURES = ("hash", "vocab")
WEIGHTINGS = ("count", "binary", "tfidf")
# The fitted state: the attrs initialize sets, saved with the model.
STATE = ("vocab", "idf", "char_vocab", "char_idf")
# Character n-grams are taken from the first MAX_WORD_CHARS characters of a word: enough for
# any word, and a 1 MB "word" of a malformed text costs no more than a long one.
MAX_WORD_CHARS = 48
# Distinct words whose character n-gram bags are kept; past that the cache starts over, so a
# long stream of new words costs time, never unbounded memory.
MAX_CACHED_WORDS = 1 << 18
# Docs featurized at a time while fitting at initialize.
FIT_BATCH_SIZE = 1000

# Featurization always runs on CPU: it starts from Doc arrays, which live in numpy.
_numpy_ops = NumpyOps()

# uint64 keys -> int64 feature ids, -1 for keys outside the vocabulary.
FeatureIds = Callable[[numpy.ndarray], numpy.ndarray]


@dataclass
class WordBags:
    """The character n-gram part of a batch: each doc as a weighted bag of the batch's distinct
    words, and each of those words as a bag of its n-gram features, read from the vectorizer's
    table of the words it has seen.

    rows (numpy.ndarray): int64 row of each distinct word in that table. The rows keep their
        words until the table starts over, which replaces `source`.
    token_words (numpy.ndarray): int64 word (position in `rows`) of each token, doc after doc.
    token_offsets (numpy.ndarray): int64 position in `token_words` where each doc starts.
    token_weights (numpy.ndarray): float32 weight of each token.
    table (WordNgrams): the table of words.
    source (KeyTable): the table's index of words when the rows were read.
    """

    rows: numpy.ndarray
    token_words: numpy.ndarray
    token_offsets: numpy.ndarray
    token_weights: numpy.ndarray
    table: "WordNgrams"
    source: KeyTable

    def bags(self, which: Optional[numpy.ndarray] = None) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """The bags of the distinct words, or of those at the positions `which`, as
        EmbeddingBag inputs: int64 character n-gram feature ids (below the vectorizer's nC)
        word after word, int64 offsets where each word's ids start, float32 weights."""
        if self.table.table is not self.source:
            raise ValueError("The vectorizer's table of words started over since these rows were read.")
        return self.table.bags(self.rows if which is None else self.rows[which])


@dataclass
class NgramFeatures:
    """A batch of docs as weighted bags of feature ids: `EmbeddingBag(mode="sum")` inputs.

    ids (numpy.ndarray): int64 feature ids (below the vectorizer's nO), doc after doc, each
        feature once per doc, in id order.
    offsets (numpy.ndarray): int64 position in `ids` where each doc's bag starts; a doc
        without features has an empty bag.
    weights (numpy.ndarray): float32 weight of each id.
    words (Optional[WordBags]): the character n-gram part, when the vectorizer reads them.
    """

    ids: numpy.ndarray
    offsets: numpy.ndarray
    weights: numpy.ndarray
    words: Optional[WordBags] = None


class NgramVectorizer(Model[List[Doc], NgramFeatures]):
    """Docs -> weighted bags of word n-gram and token attribute features, and optionally of
    the words' character n-grams. Its dims are the numbers of features, known once
    initialize has fitted them: nO of the docs' bags, nC of the words' character n-gram bags
    (0 without them)."""

    def __init__(
        self,
        *,
        features: str,
        n_buckets: int,
        min_df: int,
        ngram_range: Sequence[int],
        lowercase: bool,
        token_attrs: Sequence[str],
        char_ngram_range: Optional[Sequence[int]],
        weighting: str,
        sublinear_tf: bool,
    ) -> None:
        """Check the settings; see `spacy-ru-nn.NgramVectorizer.v1` for their meaning."""
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
        if features == "hash" and n_buckets < 1:
            raise ValueError(f"n_buckets must be positive with features='hash', got {n_buckets}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        attr_ids = [token_attr_id(name, "token_attrs") for name in token_attrs]
        chars = None if char_ngram_range is None else list(check_range(char_ngram_range, "char_ngram_range"))
        super().__init__(
            "ngram_vectorizer",
            vectorizer_forward,
            init=vectorizer_init,
            dims={"nO": None, "nC": None},
            attrs={
                "features": features,
                "n_buckets": n_buckets,
                "min_df": min_df,
                "ngram_range": list(check_range(ngram_range, "ngram_range")),
                "lowercase": lowercase,
                "token_attrs": list(token_attrs),
                "char_ngram_range": chars,
                "weighting": weighting,
                "sublinear_tf": sublinear_tf,
                **{name: None for name in STATE},
            },
        )
        # Derived from the settings. Each extra attribute's values are salted with its own
        # hash, so the shape "xxxx" and the word "xxxx" are different features.
        self.columns = [LOWER if lowercase else ORTH, IS_SPACE, *attr_ids]
        self.salts = [numpy.uint64(hash_string(name.upper())) for name in token_attrs]
        # Caches, never saved: the lexeme attributes of the words seen (None when a column is
        # a token's own), and the fitted state in the form the forward pass reads it.
        self.lexemes = LexemeColumns.for_columns(self.columns)
        self.tables: Optional[FittedTables] = None

    @property
    def hashed(self) -> bool:
        return self.attrs["features"] == "hash"

    def fitted_tables(self) -> "FittedTables":
        """The fitted state's lookup tables, rebuilt if the state was replaced since."""
        if self.tables is None or not self.tables.built_from(self):
            if not self.has_dim("nO"):
                raise ValueError("The n-gram vectorizer is not initialized: initialize it with the training docs.")
            self.tables = FittedTables(self)
        return self.tables

    def ngram_keys(self, docs: Sequence[Doc]) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """The batch's n-gram keys and its words.

        RETURNS (Tuple[numpy.ndarray, ...]): uint64 keys of the word n-grams and token
            attribute values, the int64 doc of each; the uint64 word key (LOWER or ORTH) of
            each non-whitespace token, the int64 doc of each.
        """
        min_n, max_n = self.attrs["ngram_range"]
        tokens = token_columns(docs, self.columns, self.lexemes)
        lengths = numpy.asarray([len(doc) for doc in docs], dtype="int64")
        # Whitespace tokens are layout, not words: "hi  there" and "hi there" get the same bag.
        is_word = tokens[:, 1] == 0
        tokens = tokens[is_word]
        words = numpy.ascontiguousarray(tokens[:, 0])
        word_docs = numpy.repeat(numpy.arange(len(docs), dtype="int64"), lengths)[is_word]
        keys = []
        doc_ids = []
        for n in range(min_n, max_n + 1):
            if n == 1:
                keys.append(words)
                doc_ids.append(word_docs)
                continue
            if len(words) < n:
                break
            # One hash call for the whole batch; n-grams that straddle two docs are dropped.
            grams = _numpy_ops.ngrams(n, words)
            starts = word_docs[: len(grams)]
            inside = starts == word_docs[n - 1 :]
            keys.append(grams[inside])
            doc_ids.append(starts[inside])
        for column, salt in enumerate(self.salts, start=2):
            keys.append(tokens[:, column] ^ salt)
            doc_ids.append(word_docs)
        all_keys = numpy.concatenate(keys) if keys else words[:0]
        all_doc_ids = numpy.concatenate(doc_ids) if doc_ids else word_docs[:0]
        return all_keys, all_doc_ids, words, word_docs

    def vectorize(self, docs: Sequence[Doc]) -> NgramFeatures:
        """The batch's weighted bags (see the module docstring)."""
        tables = self.fitted_tables()
        keys, doc_ids, words, word_docs = self.ngram_keys(docs)
        n_docs = len(docs)
        n_features = self.get_dim("nO")
        ids = tables.to_ids(keys)
        known = ids >= 0
        doc_ids, ids, counts = count_pairs(doc_ids[known], ids[known], n_features)
        weighting = self.attrs["weighting"]
        if weighting == "binary":
            weights = numpy.ones(len(ids), dtype="float64")
        elif self.attrs["sublinear_tf"]:
            weights = 1.0 + numpy.log(counts)
        else:
            weights = counts.astype("float64")
        if tables.idf is not None:
            weights *= tables.idf[ids]
            weights /= root_sums(doc_ids, weights * weights, n_docs)[doc_ids]
        features = NgramFeatures(ids, offsets_of(doc_ids, n_docs), weights.astype("float32"))
        if tables.words is not None:
            strings = docs[0].vocab.strings if docs else StringStore()
            features.words = tables.words.bags_of(strings, words, word_docs, n_docs)
        return features

    def fit(self, docs: Sequence[Doc]) -> None:
        """Fit the vocabularies and idf tables on docs (the whole training set: they are data,
        not shapes) and set nO and nC."""
        n_docs = len(docs)
        n_features, vocab, idf = self._fit_table(*self._document_frequencies(docs), n_docs)
        n_char_features, char_vocab, char_idf = 0, None, None
        if self.attrs["char_ngram_range"] is not None:
            n_char_features, char_vocab, char_idf = self._fit_table(*self._char_document_frequencies(docs), n_docs)
        self.attrs.update({"vocab": vocab, "idf": idf, "char_vocab": char_vocab, "char_idf": char_idf})
        self.set_dim("nO", n_features, force=True)
        self.set_dim("nC", n_char_features, force=True)
        self.tables = None

    def _fit_table(
        self, keys: numpy.ndarray, doc_freqs: numpy.ndarray, n_docs: int
    ) -> Tuple[int, Optional[numpy.ndarray], Optional[numpy.ndarray]]:
        """The number of features, the vocabulary (sorted int64 keys; None when hashing) and
        the idf table (None unless tf-idf) for distinct keys and their document frequencies."""
        if self.hashed:
            n_features = self.attrs["n_buckets"]
            vocab = None
            doc_freqs = numpy.bincount(keys.astype("int64"), doc_freqs, minlength=n_features)
        else:
            min_df = self.attrs["min_df"]
            frequent = doc_freqs >= min_df
            if not frequent.any():
                raise ValueError(
                    f"No n-gram occurs in at least min_df={min_df} of the {n_docs} "
                    "initialization docs, so the vocabulary would be empty."
                )
            # Sorted as int64: the vocabulary's canonical order (feature id = position).
            signed_keys = keys[frequent].view("int64")
            order = numpy.argsort(signed_keys)
            vocab = signed_keys[order]
            doc_freqs = doc_freqs[frequent][order]
            n_features = len(vocab)
        idf = None
        if self.attrs["weighting"] == "tfidf":
            # Smoothed idf, as scikit-learn's TfidfVectorizer: ln((1 + N) / (1 + df)) + 1.
            idf = numpy.log((1.0 + n_docs) / (1.0 + doc_freqs)) + 1.0
        return n_features, vocab, idf

    def _document_frequencies(self, docs: Sequence[Doc]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The distinct n-gram keys (bucket ids when hashing) and their document frequency."""
        per_batch = []
        for start in range(0, len(docs), FIT_BATCH_SIZE):
            keys, doc_ids, _, _ = self.ngram_keys(docs[start : start + FIT_BATCH_SIZE])
            per_batch.append(_distinct_per_doc(doc_ids, self._bucketed(keys)))
        return _frequencies(per_batch)

    def _char_document_frequencies(self, docs: Sequence[Doc]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The distinct character n-gram keys (bucket ids when hashing) and their document
        frequency: in how many docs some word has the n-gram."""
        char_range = self.attrs["char_ngram_range"]
        per_batch = []
        for start in range(0, len(docs), FIT_BATCH_SIZE):
            batch = docs[start : start + FIT_BATCH_SIZE]
            _, _, words, word_docs = self.ngram_keys(batch)
            distinct, position = numpy.unique(words, return_inverse=True)
            gram_keys, n_grams = char_ngram_keys(batch[0].vocab.strings, distinct, char_range)
            doc_words = numpy.unique(numpy.stack([word_docs, position.astype("int64")]), axis=1)
            starts = numpy.cumsum(n_grams) - n_grams
            take = ragged_take(starts[doc_words[1]], n_grams[doc_words[1]])
            keys = self._bucketed(gram_keys[take])
            per_batch.append(_distinct_per_doc(numpy.repeat(doc_words[0], n_grams[doc_words[1]]), keys))
        return _frequencies(per_batch)

    def _bucketed(self, keys: numpy.ndarray) -> numpy.ndarray:
        return keys % numpy.uint64(self.attrs["n_buckets"]) if self.hashed else keys


class FittedTables:
    """The fitted state in the form the forward pass reads it: key tables, idf as float64, and
    the character n-gram bags of the words seen so far. Built from the vectorizer's attrs, and
    valid as long as they hold the very arrays it was built from."""

    def __init__(self, vectorizer: NgramVectorizer) -> None:
        attrs = vectorizer.attrs
        self.state = tuple(attrs[name] for name in STATE)
        vocab, idf, char_vocab, char_idf = self.state
        hashed = vectorizer.hashed
        self.to_ids: FeatureIds = BucketIds(vectorizer.get_dim("nO")) if hashed else VocabularyIds(vocab)
        self.idf = None if idf is None else numpy.asarray(idf, dtype="float64")
        self.words: Optional[WordNgrams] = None
        if attrs["char_ngram_range"] is not None:
            n_char_features = vectorizer.get_dim("nC")
            self.words = WordNgrams(
                tuple(attrs["char_ngram_range"]),  # type: ignore[arg-type]
                BucketIds(n_char_features) if hashed else VocabularyIds(char_vocab),
                n_char_features,
                None if char_idf is None else numpy.asarray(char_idf, dtype="float64"),
                binary=attrs["weighting"] == "binary",
            )

    def built_from(self, vectorizer: NgramVectorizer) -> bool:
        return all(value is vectorizer.attrs[name] for name, value in zip(STATE, self.state))


class WordNgrams:
    """The character n-gram features of the distinct words seen so far: for each word (a row,
    found by its key in `table`), its feature ids, their weights and the squared norm of those
    weights. Starting over gives it a new `table`, so rows read before can tell."""

    def __init__(
        self,
        ngram_range: Tuple[int, int],
        to_ids: FeatureIds,
        n_features: int,
        idf: Optional[numpy.ndarray],
        binary: bool,
    ) -> None:
        self.ngram_range = ngram_range
        self.to_ids = to_ids
        self.n_features = n_features
        self.idf = idf
        self.binary = binary
        self.clear()

    def clear(self) -> None:
        self.table = KeyTable()
        self.starts = GrowingArray("int64")
        self.lengths = GrowingArray("int64")
        self.sq_norms = GrowingArray("float64")
        self.ids = GrowingArray("int64")
        self.weights = GrowingArray("float32")

    def bags_of(self, strings: StringStore, words: numpy.ndarray, word_docs: numpy.ndarray, n_docs: int) -> WordBags:
        """The batch's words (uint64 keys of each token's word, int64 doc of each) as bags."""
        rows = self.rows(strings, words)
        token_weights = numpy.ones(len(rows))
        if self.idf is not None:
            token_weights /= root_sums(word_docs, self.sq_norms.values[rows], n_docs)[word_docs]
        # The batch's distinct words in row order, and each token's position among them.
        present = numpy.zeros(len(self.table), dtype=bool)
        present[rows] = True
        distinct = numpy.flatnonzero(present)
        position = numpy.zeros(len(present), dtype="int64")
        position[distinct] = numpy.arange(len(distinct))
        return WordBags(
            distinct,
            position[rows],
            offsets_of(word_docs, n_docs),
            token_weights.astype("float32"),
            self,
            self.table,
        )

    def bags(self, rows: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """The n-gram bags of the words at `rows`: ids, offsets and weights."""
        lengths = self.lengths.values[rows]
        take = ragged_take(self.starts.values[rows], lengths)
        return self.ids.values[take], numpy.cumsum(lengths) - lengths, self.weights.values[take]

    def rows(self, strings: StringStore, words: numpy.ndarray) -> numpy.ndarray:
        """The row of each word, adding the words not seen before."""

        def add(new: numpy.ndarray) -> None:
            self._add(strings, new)

        def start_over() -> KeyTable:
            self.clear()
            return self.table

        return rows_adding(self.table, words.view("int64"), MAX_CACHED_WORDS, add, start_over)

    def _add(self, strings: StringStore, new: numpy.ndarray) -> None:
        gram_keys, n_grams = char_ngram_keys(strings, new.view("uint64"), self.ngram_range)
        ids = self.to_ids(gram_keys)
        owners = numpy.repeat(numpy.arange(len(new)), n_grams)
        known = ids >= 0
        owners, ids, counts = count_pairs(owners[known], ids[known], self.n_features)
        weights = numpy.ones(len(ids)) if self.binary else counts.astype("float64")
        if self.idf is not None:
            weights *= self.idf[ids]
        lengths = numpy.bincount(owners, minlength=len(new))
        self.starts.extend(len(self.ids.values) + numpy.cumsum(lengths) - lengths)
        self.lengths.extend(lengths)
        self.sq_norms.extend(numpy.bincount(owners, weights * weights, minlength=len(new)))
        self.ids.extend(ids)
        self.weights.extend(weights.astype("float32"))

    def __len__(self) -> int:
        return len(self.table)


def char_ngram_keys(
    strings: StringStore, word_keys: numpy.ndarray, ngram_range: Sequence[int]
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The keys of the character n-grams of each word, " word " padded as scikit-learn's
    analyzer="char_wb" pads it, and the number of n-grams of each word."""
    min_n, max_n = ngram_range
    keys: List[int] = []
    counts = numpy.zeros(len(word_keys), dtype="int64")
    for i, key in enumerate(word_keys.tolist()):
        padded = f" {strings[key][:MAX_WORD_CHARS]} "
        grams = [padded[j : j + n] for n in range(min_n, max_n + 1) for j in range(len(padded) - n + 1)]
        keys.extend(hash_string(gram) for gram in grams)
        counts[i] = len(grams)
    return numpy.asarray(keys, dtype="uint64"), counts


class BucketIds:
    """uint64 keys -> int64 hash buckets."""

    def __init__(self, n_buckets: int) -> None:
        self.n_buckets = numpy.uint64(n_buckets)

    def __call__(self, keys: numpy.ndarray) -> numpy.ndarray:
        return (keys % self.n_buckets).astype("int64")


class VocabularyIds:
    """uint64 keys -> int64 positions in a vocabulary of int64 keys, -1 outside it."""

    def __init__(self, vocab: numpy.ndarray) -> None:
        self.table = KeyTable(numpy.asarray(vocab, dtype="int64"))

    def __call__(self, keys: numpy.ndarray) -> numpy.ndarray:
        return self.table(keys.view("int64"))


def _distinct_per_doc(doc_ids: numpy.ndarray, keys: numpy.ndarray) -> numpy.ndarray:
    """Each doc's distinct keys (a key appears once per doc it occurs in)."""
    return numpy.unique(numpy.stack([doc_ids.astype("uint64"), keys]), axis=1)[1]


def _frequencies(per_batch: List[numpy.ndarray]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    if not per_batch:
        return numpy.zeros((0,), dtype="uint64"), numpy.zeros((0,), dtype="int64")
    return numpy.unique(numpy.concatenate(per_batch), return_counts=True)


def vectorizer_forward(
    model: NgramVectorizer, docs: List[Doc], is_train: bool
) -> Tuple[NgramFeatures, Callable[[NgramFeatures], List]]:
    # Integer features have no gradient to pass back.
    return model.vectorize(docs), lambda d_features: []


def vectorizer_init(model: NgramVectorizer, X: Optional[List[Doc]] = None, Y: Optional[object] = None) -> None:
    """Fit on X: the whole training set, not a sample (see `NgramVectorizer.fit`)."""
    model.fit(X or [])


__all__ = ["NgramFeatures", "NgramVectorizer", "WordBags", "char_ngram_keys"]
