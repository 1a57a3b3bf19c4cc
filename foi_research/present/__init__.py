"""Stage 5, presenting: analyses (analysis), altair charts (viz), parameterised notebook studies
(studies) and dataset exports (export: datapackage, codebook, CSV, Stata)."""
