"""Sampling answers from one model for semantic entropy and diversity."""
