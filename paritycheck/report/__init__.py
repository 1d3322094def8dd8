"""Report writers: terminal, HTML, Markdown, JUnit. Each reads a summary; none replays or diffs."""
