"""The guests' hottest reads answered in front of Django's middleware, each from a snapshot in Redis (or,
for a visitor with no session yet, from settings), with the headers Django's stack would add.

A fast path answers only what it can prove and passes everything else on to Django unchanged, which
answers from the rows and writes the snapshot back: `guest.py` is the shared part (who is asking, the
headers, the access-log line), `job_status.py` a guest's job poll, `me.py` a guest's GET /api/me.
"""
