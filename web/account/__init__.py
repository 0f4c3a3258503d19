"""Accounts: the sign-in rules and the pages about one's own account.

Rules (no pages): ``passwords`` (what a password must be), ``user_sessions``
(server-side, revocable sessions) and ``totp`` (two-factor codes, RFC 6238).
Pages, one blueprint module each, listed in ``BLUEPRINT_MODULES``:
``password`` (change it) and ``two_factor`` (set it up); templates under
``templates/account/``. Creating users and tokens is :mod:`web.accounts`.
"""
