"""Uncertainty: sample answers from both models, group them by meaning, compare semantic entropy and diversity.

Layout only. The button samples and embeds (ui/sampling.py) and keeps an
UncertaintyResult in the session; every section after it (ui/uncertainty_*.py)
reads those tables through analysis/. Models, torch and the encoders are
imported only when the button is pressed, so the page draws at once.
"""

import streamlit as st

from ui import uncertainty_compare as compare
from ui import uncertainty_downloads, uncertainty_evaluation, uncertainty_sweep
from ui.markdown import literal
from ui.router import use_router
from ui.sampling import kept_result, run_sampling, sampling_area
from ui.state import current_specs, units
from ui.uncertainty_clusters import clustered
from ui.uncertainty_detail import prompt_detail
from ui.uncertainty_inputs import clustering_from_inputs, prompts_from_inputs, settings_from_inputs, waiting_hint

use_router()  # before drawing anything: see ui/router.py

st.title("Duet · uncertainty")
try:
    spec_a, spec_b = current_specs()
    st.caption(f"Ask both models the same questions many times. **A** = {literal(spec_a.label)}, **B** = {literal(spec_b.label)}. "
               "Answers that mean the same thing form a cluster; many clusters mean the model is unsure of the "
               "meaning of its answer (semantic entropy, Farquhar et al. 2024).")
except Exception:  # noqa: BLE001 - the sidebar shows what is wrong with the spec
    st.caption("Ask both models the same questions many times; pick them in the sidebar.")

prompts, answers, input_errors = prompts_from_inputs()
for line in input_errors:
    st.error(line)
raw_settings = settings_from_inputs()
clustering = clustering_from_inputs()
if st.button("Sample and compare", type="primary", key="unc_run", icon=":material/play_arrow:"):
    if input_errors:
        st.error("Fix the upload problem above first; the results below are unchanged.")
    else:
        run_sampling(prompts, raw_settings, answers)
sampling_area()  # the ask before long work, the job's progress and Cancel, how it ended

result = kept_result()
if result is None:
    st.info(waiting_hint(prompts, answers))
    st.stop()

st.divider()
unit = units()
for side, line in result.errors.items():
    st.warning(f"Model {side.upper()} has no samples: {literal(line)}")
clusters = clustered(result, clustering)
if clusters is None:
    st.stop()

st.subheader("Which model is more uncertain, and which more diverse?")
compare.verdicts(result, clusters, unit)

st.subheader("Per prompt, side by side")
st.caption("Pick any uncertainty estimator or diversity metric: semantic entropy, likelihood and lexical baselines, "
           "graph estimators (EigV, Degree, Eccentricity, kernel language entropy), EigenScore, semantic volume.")
wide = compare.per_prompt(result, clusters, unit)

st.subheader("A against B, one point per prompt")
compare.scatter(result, clusters, unit)

with st.expander("Each model over all its samples"):
    compare.overall(result, clusters, unit)

st.subheader("Which estimator predicts each model's errors?")
uncertainty_evaluation.show(result, clusters)

st.subheader("One prompt in detail")
st.caption("Each sample is coloured by the model's next-token entropy at each token (hover for the top "
           "alternatives). Samples are grouped by meaning cluster, largest first.")
choice = prompt_detail(result, clusters, unit)

st.subheader("How the clusters change with the threshold")
uncertainty_sweep.show(result, clusters, unit, choice)

st.subheader("Download the data")
uncertainty_downloads.show(result, clusters, wide)
