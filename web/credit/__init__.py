"""Credit and risk pages (issue 13): credit files, ratings and limits, receivables
and payments, credit alerts, the risk register and its heat map, thresholds and
the rating model's accuracy. The rules are :mod:`risk`'s; these views are thin."""
