"""Streamlit helpers shared by the pages (sidebar state, progress, exports). UI only: no maths, no torch."""
