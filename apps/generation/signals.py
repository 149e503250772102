"""Signals for the apps above generation (which it cannot import).

`portrait_withdrawn(job)`: the portrait may no longer be shown in public (its owner withdrew consent,
deleted it, or deleted their account). Sent inside the transaction that withdraws it; photowall removes
every wall copy of it, and the wall cache follows at the commit.
"""

from django.dispatch import Signal

portrait_withdrawn = Signal()
