"""Email digests: who subscribed, what each digest holds, when it is due, and the mail that carries it.

subscribers.py holds the records, content.py builds a digest or a skip reason
(pure), schedule.py says which period is due (pure), tokens.py signs the
confirm and unsubscribe links, and mail.py composes and sends. Storage (the
outbox, delivered papers) and the job that ties them together come with the
store and the job runner; docs/digests.md is their design.
"""

from paperwire.digest.content import SKIP_REASONS, Candidate, Digest, Skip, build
from paperwire.digest.schedule import due_period
from paperwire.digest.subscribers import REASONS, Subscriber, Subscription

__all__ = ["REASONS", "SKIP_REASONS", "Candidate", "Digest", "Skip", "Subscriber", "Subscription", "build",
           "due_period"]
