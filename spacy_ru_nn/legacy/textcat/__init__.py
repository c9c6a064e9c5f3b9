"""The text classifier architectures that `spacy-ru-nn.BoWPerceptron.v3` and
`spacy-ru-nn.BiLSTMClassifier.v2` replaced, with the code they were built from, unchanged so
that pipelines saved with them load and predict as they did.

Nothing outside this package imports it: spaCy imports `architectures` through its entry point
when a config names one of these versions.
"""
