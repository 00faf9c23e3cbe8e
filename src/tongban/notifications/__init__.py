"""Notifications: an outbox written in the same transaction as the change it reports, delivered
after commit through channels (in-app, SMS gateway plugin, e-mail) with retries and no duplicates."""
