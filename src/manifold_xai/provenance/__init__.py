"""Provenance: sidecar records (``records``), auditing (``audit``), PROV/RO-Crate export
(``export``) and params drift (``params_drift``)."""
