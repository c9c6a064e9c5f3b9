"""`bilstm_ner`: the entity recognizer and its model, composed in the config from registered sublayers."""
