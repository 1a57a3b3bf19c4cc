"""Stage 3, validating: accounting identities and consistency checks (checks), the contract's
column specs and pandera schemas (schemas), the dataset writer and reader (dataset), and the
scorecard against hand-checked ground truth (evaluate)."""
