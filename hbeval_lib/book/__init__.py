"""The book: executed pages → Jupyter Book → HTML and PDF. ``run`` is what ``hbeval run`` / ``hbeval build`` do
(release stage, papermill fan-out, settling, the stamp); ``cache`` the cache keys of a page; ``kernels`` warm kernels
and the executor; ``pages`` the generated front matter and appendices; ``text`` the researchers' own text slots;
``pdf`` the PDF reports; ``publish`` freezes a built report (``hbeval publish``); ``reference`` the nbval reference
executions; ``bench`` and ``sweep`` the benchmark and the robustness sweep; ``commands`` the command-line glue."""
