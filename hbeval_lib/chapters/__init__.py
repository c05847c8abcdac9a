"""Report chapters: one module per strand notebook, one function per section."""
