"""The synthesis of the final report: the plan's questions answered from the strands' results (``sections``)."""
