"""Scoring: tokens, windows, packing, batch size, the head and its logit statistics, one model's scores, same-vocabulary divergences, the pair."""
