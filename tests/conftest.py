"""Root conftest: its presence puts tests/ on sys.path, so test modules can
`import support` (shared helpers: require_tool, require_corpus, CORPUS)."""
