"""Stage 4, harmonising: agency identity across years (agencies) and the agency-by-year panel with
its crosswalks and rates (metrics)."""
