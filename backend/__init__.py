"""Everything that touches a model: specs, loading, scoring, sampling, the run store."""
