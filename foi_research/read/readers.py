"""Kept for imports written before read/ was split by format: everything here lives in
foi_research.read (read, Document, Row, Cell, decode, SUPPORTED) and its modules."""
from foi_research.read import (  # noqa: F401
    CONVERT_EXT, DOCX_EXT, HTML_EXT, PDF_EXT, SUPPORTED, TEXT_EXT, XLSX_EXT, Cell, Document, Row, decode, read,
)
