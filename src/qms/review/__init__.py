"""Periodic review (定期评审) of controlled documents: a period per document kind in config.yaml
(`review: {periods: {procedure: 24}, ahead_days: 30}`), overridable per document (`review: 24`),
counted from 实施; the owner closes each review by signature."""
