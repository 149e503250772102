"""Signals for the apps above generation (which it cannot import).

`portrait_withdrawn(job)`: the portrait may no longer be shown in public (its owner withdrew consent,
deleted it, or deleted their account). Sent inside the transaction that withdraws it; photowall removes
every wall copy of it, and the wall cache follows at the commit.

`jobs_changed(job_ids)`: a queryset update or delete wrote these job rows (models.JobQuerySet); saves and
single deletes send Django's post_save / post_delete. The status snapshots follow (status_snapshot).
"""

from django.dispatch import Signal

portrait_withdrawn = Signal()
jobs_changed = Signal()
