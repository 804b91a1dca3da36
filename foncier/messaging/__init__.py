"""Messages to people: the mail outbox (rows written in the step's transaction, delivered after its
commit), the mail backends, and the in-app inbox (notifications)."""
