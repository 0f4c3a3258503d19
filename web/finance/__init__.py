"""Finance's pages, one blueprint module each: reference data (prices, FX, programs,
targets, deposits, adjustments), disputes, receivables, payments and accruals.

Each module exposes ``bp`` and is listed in ``web.BLUEPRINT_MODULES``; the rules
they show live in ``settlement``, never here.
"""
