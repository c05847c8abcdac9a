"""How a strand page publishes: every number goes through a named cell. ``cells`` records the cells a page
publishes (release stage) or reads their protected decisions (rendering); ``disclosure`` is the page's interface
(counts, statistics, shares, magnitudes, their primary rules and the reason shown for a hidden one); ``report``
starts a page and formats Finnish numbers; ``readable`` turns a mostly hidden table into a sentence; ``results``
writes the machine-readable results rows. The joint protection itself is decided in :mod:`hbeval_lib.release`."""
