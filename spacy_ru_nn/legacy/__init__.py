"""Architectures whose registered signature was replaced by a newer version, kept so that
pipelines saved with them load and predict as they did (the way spacy-legacy keeps spaCy's)."""
