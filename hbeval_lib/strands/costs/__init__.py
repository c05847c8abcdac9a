"""Strand 3 (Diak): costs, who bears them, cost-effectiveness — cost statistics (``stats``), the cost-effectiveness
analysis (``cea``), the report sections (``sections``) and a benchmark of the bootstrap (``bench``)."""
