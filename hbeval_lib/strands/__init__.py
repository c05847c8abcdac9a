"""The three strands of the evaluation and their synthesis, one folder each: its statistics and its report sections
side by side. ``wellbeing`` (Saimaa: change in wellbeing, functioning, participation; the doubly robust effect in
``causal``), ``services`` (Metropolia: service process, services chosen, qualitative material), ``costs`` (Diak:
costs, payers, cost-effectiveness in ``cea``), ``synthesis`` (the final report's answers to the plan's questions).
``methods`` holds the descriptors of the methods that the book's method chapters print; ``validate`` the
simulation check of every published interval (``make validate``). A strand's ``sections`` module is what its
notebook (``notebooks/<strand>.md``) calls."""
