"""Pages about one's own account: changing the password, setting up two-factor sign-in.

One blueprint module per page (``web.account.password``, ``web.account.two_factor``),
each listed in ``BLUEPRINT_MODULES``; templates under ``templates/account/``.
"""
