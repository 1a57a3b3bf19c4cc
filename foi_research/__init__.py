"""foi-research: China's open-government-information annual reports as research data.

Stages, with data flowing one way:
  readers -> segment/meta -> layout/tables/narrative (parse) -> checks -> schemas/dataset
  (validate, write) -> harmonise (panel, metrics) -> present (charts, notebooks, exports).
"""
__version__ = "0.1.0"
