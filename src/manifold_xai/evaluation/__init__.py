"""Evaluation: the fraction per run (``alignment``), training curves (``curves``), ROAR/ROAD
(``roar``), sanity checks (``sanity``), Theorem 1 (``theorem1``), the user study (``study``),
statistics across seeds (``reductions``) and the paper's claims (``claims``)."""
