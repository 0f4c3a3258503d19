"""Errors that carry their reason twice: in English and as a stable id with values.

Every domain package (``settlement``, ``partners``, ``risk``) raises subclasses of
:class:`SaidError`, so the web layer says any of them in the reader's language
from one catalogue (``web/reasons.py``) while ``str(exc)`` stays the English the
command line prints and the API sends as ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

__all__ = ["SaidError"]


class SaidError(ValueError):
    """A request that cannot be carried out, with the reason.

    ``str(exc)`` is the reason in English. A reason that pages show may also carry
    ``message_id``, a stable name of the reason (``"missing_fx_rates"``), and
    ``values``, its named parts as strings, so that ``web`` says it in the reader's
    language (``web`` keeps the words of each id); ``message_id`` is ``""`` when the
    reason has no id.
    """

    def __init__(
        self, *args: object, message_id: str = "", values: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(*args)
        self.message_id = message_id
        self.values: Mapping[str, str] = dict(values or {})

    @classmethod
    def said(cls, message_id: str, english: str, **values: object) -> Self:
        """The error whose reason is ``english`` (``%(name)s`` placeholders) filled from
        ``values`` (each as ``str``), carrying ``message_id`` and those values.

        ``web/reasons.py`` keeps the same English under ``message_id``, so that pages
        say it in the reader's language and English stays exactly ``str(exc)`` (a test
        compares the two for every id). Value names say what a value is, so pages can
        write it in words: ``status``/``to`` (a status), ``day``/``deadline``/``today``
        (an ISO date), ``field`` (a field's label). A subclass whose constructor takes
        other arguments overrides this.
        """
        text = {name: str(value) for name, value in values.items()}
        return cls(english % text, message_id=message_id, values=text)
