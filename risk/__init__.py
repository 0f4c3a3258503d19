"""What combines partner data with settlement results (DESIGN.md): A/B/C class
reviews (scorecard + manually entered indicators) and health scores.

Imports ``ledger``, ``partners`` and ``settlement``; nothing below imports it.
"""
