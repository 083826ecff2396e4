"""Who is using the app: "local" without login; with auth = "oidc", the signed-in user (st.login), or a sign-in page.

The identity is the OIDC email claim (the `sub` claim, prefixed "sub:", for a provider that sends
no email). Every run the app saves records it as the run's owner, and the stores the pages open act
as this user (backend/store/catalog.py), so another user's run is refused by the store itself.
"""

from __future__ import annotations

import streamlit as st

from backend.errors import user_message
from backend.policy import OperatorSettings, load_settings
from backend.store.catalog import LOCAL, NotOwner
from backend.store.runs import RunStore
from ui.markdown import literal


def operator_settings() -> OperatorSettings:
    # Read on every run, as the sidebar does; invalid settings stop the app in app.py before this.
    return load_settings()


def current_user() -> str | None:
    """The acting user: LOCAL with auth = "none"; the signed-in user's email with "oidc"; None when nobody is signed in."""
    if operator_settings().auth == "none":
        return LOCAL
    info = st.user
    if not info.get("is_logged_in"):
        return None
    if info.get("email"):
        return str(info.get("email"))
    return f"sub:{info.get('sub')}" if info.get("sub") else None


def run_store() -> RunStore:
    """The run store as this session's user sees it: their runs, and everyone's when the operator shares them."""
    user = current_user()
    if user is None:  # app.py's gate stops before any page; a job thread must pass its owner instead
        raise NotOwner("sign in first: runs belong to signed-in users")
    return RunStore(user=user, share=operator_settings().share_runs)


def require_login() -> str:
    """app.py, before routing: the acting user. With auth = "oidc" and nobody signed in, only a
    sign-in page is routed (every address leads there) and the run stops."""
    user = current_user()
    if user is None:
        st.navigation([st.Page(_sign_in_page, title="Sign in", icon=":material/login:", default=True)],
                      position="hidden").run()
        st.stop()
    if operator_settings().auth == "oidc":
        with st.sidebar:
            st.caption(f"Signed in as **{literal(user)}**")
            st.button("Log out", key="logout", on_click=st.logout, icon=":material/logout:")
    return user


def _sign_in_page() -> None:
    st.title("Duet")
    st.write("This Duet server is shared: sign in to score texts and see your runs.")
    if st.button("Sign in", key="login", type="primary", icon=":material/login:"):
        try:
            st.login()
        except Exception as error:  # noqa: BLE001 - no [auth] in secrets.toml, Authlib missing
            st.error(f"Sign-in is not set up on this server: {literal(user_message(error))} "
                     "(the operator configures [auth] in .streamlit/secrets.toml).")
