"""The one source of truth: the code list (codes.yaml, loaded by codes), the gazetteer of
administrative divisions (gazetteer), and how printed text is normalised for matching against
them (normalize)."""
