"""Stage 1, reading documents: any file (text in any common Chinese encoding, HTML, Word, PDF)
becomes a Document, rows of text and table cells, each with its source line."""
