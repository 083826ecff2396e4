"""Everything Duet keeps on disk: paths, runs, sample runs, the score cache, corpus outputs."""
