"""Delivery: from a notifying decision to a message on every channel it is routed to.

Owns the alert record (`record`), its rendering per channel style (`render`), the
channels file (`channels`, with `${NAME}` references filled by `envfile` and the
`channels add` wizard in `wizard`), the durable outbox (`outbox`), the senders
(`delivery`), our two built-in channels (`builtin`) and our Apprise plugins
(`plugins/`). Importing this package loads nothing; Apprise is loaded by the modules
that send.

May import: model, errors, vocabulary, durations, packs
"""
