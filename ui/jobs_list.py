"""The server's running and queued jobs, every session's, for the top of the Runs page: progress, ETA, Cancel.

Reads the server-wide queue (ui/job_queue.py); polled in a fragment while there is a job to show, and
when a listed job ends the whole page reruns, so the run it saved appears in the list below.
"""

from __future__ import annotations

import streamlit as st

from ui import job_queue
from ui.jobs import Job, current_user, queue_text, session_id
from ui.markdown import literal

POLL_S = 1.0
KINDS = {"score": "Scoring", "sample": "Sampling", "behaviorbox": "BehaviorBox"}
SEEN = "_jobs_list_seen"  # session_state: ids of the jobs the last poll showed


def server_jobs() -> None:
    """Draw the running and queued jobs (nothing when there are none)."""
    running, waiting = job_queue.snapshot()
    st.session_state[SEEN] = {job.id for job in running + waiting}
    if running or waiting:
        st.fragment(_poll, run_every=POLL_S)()


def may_cancel(job: Job) -> bool:
    """This session's jobs; with logins (auth = "oidc"), the same user's from another tab; without, anyone's:
    there is no owner to check, and a job whose tab was closed can only be stopped here."""
    if job.session and job.session == session_id():
        return True
    if job.user is not None:
        return job.user == current_user()
    from backend.policy import SettingsError, load_settings

    try:
        return load_settings().auth == "none"
    except SettingsError:  # edited into an invalid file since the page ran: no one's job but one's own
        return False


def _poll() -> None:
    running, waiting = job_queue.snapshot()
    shown = {job.id for job in running + waiting}
    if st.session_state.get(SEEN, set()) - shown:
        st.rerun(scope="app")  # a job ended: its saved run belongs in the list below
    st.session_state[SEEN] = shown
    if not shown:
        return
    limit = job_queue.limit()
    st.subheader(f"Jobs on this server ({len(running)} running of {limit} at a time, {len(waiting)} queued)")
    for job in running + waiting:
        _row(job)


def _row(job: Job) -> None:
    own = job.session == session_id()
    with st.container(border=True, key=f"server_job_{job.id}"):
        head = f"**{KINDS.get(job.kind, job.kind)}** · {literal(job.label)}"
        st.markdown(head + (" · *this tab*" if own else " · *another session*"))
        if job.state == "queued":
            st.caption(queue_text(job))
        else:
            st.progress(job.fraction(), text=literal(job.progress_text()))
        if job.cancelling:
            st.caption("Cancelling: stopping after the current batch…")
        elif job.state in ("queued", "running"):
            allowed = may_cancel(job)
            st.button("Cancel", key=f"server_job_cancel_{job.id}", on_click=job.cancel, icon=":material/stop:",
                      disabled=not allowed,
                      help=("Stop it; what finished is kept." if allowed else
                            "Started by another user: only they can cancel it."))
