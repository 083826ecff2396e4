"""Reading texts: uploads and files, corpora of many files, the Ray engine."""
