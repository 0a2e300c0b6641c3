"""Kafka → PostgreSQL ingest: decode, validate, batch and write application events exactly once."""
