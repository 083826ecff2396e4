"""The uncertainty page's data files: per-prompt metrics, the long summary, the samples and their tokens."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.uncertainty_result import UncertaintyResult
from ui import downloads
from ui.uncertainty_clusters import Clustered


def show(result: UncertaintyResult, clusters: Clustered, wide: pd.DataFrame) -> None:
    """wide: the per-prompt table as the page shows it, in nats."""
    st.caption(f"Entropies and logprobs in nats in every file. Sampled in {result.elapsed:.1f} s.")
    c1, c2 = st.columns(2)
    with c1:
        downloads.table_buttons(wide, "duet-uncertainty-per-prompt", "unc_dl_wide")
        downloads.table_buttons(clusters.summary, "duet-uncertainty-long", "unc_dl_long")
    with c2:
        downloads.table_buttons(result.samples.assign(cluster=clusters.labels), "duet-samples", "unc_dl_samples")
        downloads.table_buttons(result.tokens, "duet-sample-tokens", "unc_dl_tokens")
