"""Stage 2, reading tables: a Document is split into reports (segment), who reported for which
year (meta), its cells laid out as a stream (layout), tables 2, 3, 4 and the pre-2019 statistics
table read against their templates (tables), figures stated in prose (narrative), assembled per
report (report).

parse_file / parse_paths (foi_research.pipeline) are re-exported here for convenience."""


def __getattr__(name):  # lazy: foi_research.pipeline imports this package
    if name in ("parse_file", "parse_paths", "iter_files"):
        from foi_research import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
