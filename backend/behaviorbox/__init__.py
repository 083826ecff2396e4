"""BehaviorBox: word embeddings, the sparse autoencoder, training and selection on a scored pair, persisted with the run."""
