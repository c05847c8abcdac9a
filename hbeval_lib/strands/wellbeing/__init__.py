"""Strand 1 (Saimaa): wellbeing, functioning, participation and client experience — statistics (``stats``),
the doubly robust effect estimator (``causal``) and the report sections (``sections``)."""
