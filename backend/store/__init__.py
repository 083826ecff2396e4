"""Everything Duet keeps on disk: paths, runs and sample runs (one catalog base), the score cache, corpus outputs, and the one atomic-write helper every file goes through."""
