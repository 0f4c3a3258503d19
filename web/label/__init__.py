"""What a printed label answers: the GS1 resolver (:mod:`web.label.resolver`) and the public pages it leads to."""
