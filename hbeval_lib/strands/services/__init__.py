"""Strand 2 (Metropolia): service process, services chosen, HB assistants and development work — statistics
(``stats``), the coded diaries and workshop notes (``qualitative``) and the report sections (``sections``)."""
