"""Pure functions over numpy arrays and pandas tables. Never imports torch, transformers or streamlit."""
