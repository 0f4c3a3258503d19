"""Partner management (issue 12): parties as master data, the recruitment pipeline
and trial, agreements (the territory grants and program enrolment in force on a
date), classes in force, CRM interactions and tasks, and exit.

Imports only ``ledger`` and ``geo`` (DESIGN.md); ``settlement`` reads the grants,
enrolments and classes in force from here, ``risk`` reviews and scores partners.
Errors are :class:`partners.errors.PartnerError` (English in ``str(exc)``, a
``message_id`` for pages in the reader's language).
"""
