"""Training: the loops (``loops``), l2-PGD (``adversarial``), checkpoints on the tracking schedule
(``checkpoints``) and per-epoch resumable state (``resume``)."""
