"""Messages to people: e-mails written as outbox rows in the step's transaction and the
backends that send them (mail), their delivery after the commit with retries (delivery), the
« Messages envoyés » page's reading (outbox), and the in-app inbox (notifications).
"""
