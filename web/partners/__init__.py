"""Partner management's pages (issue 12), one blueprint module each: parties as
master data, the recruitment board and prospects (and the public application
form), agreements, evaluation (A/B/C reviews, health scores), CRM interactions and
tasks, and exits.

Each module exposes ``bp`` and is listed in ``web.app.BLUEPRINT_MODULES``; the rules
they show live in ``partners`` and ``risk``, never here. A party's page
(``partners.party``) links to every module's view of that party by endpoint name
(``agreements.party``, ``crm.interactions``, ``evaluation.party``,
``exits.party``, each taking ``code``), shown only once that endpoint exists.
"""
