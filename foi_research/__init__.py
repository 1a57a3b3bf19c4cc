"""foi-research: China's open-government-information annual reports as research data.

A subpackage per stage, data flowing one way:
  read (documents) -> parse (reports, tables, prose) -> validate (identities, schemas, dataset)
  -> harmonise (agencies, panel) -> present (analysis, charts, studies, exports).
reference/ holds the one code list, the gazetteer and text normalisation; model.py what flows
between stages; pipeline.py parse_file / parse_paths; build.py the whole dataset.
"""
__version__ = "0.1.0"
