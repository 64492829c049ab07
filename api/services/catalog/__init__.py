"""The catalog's commands and queries, a module per domain: customers, the service model,
people, knowledge, queues."""
