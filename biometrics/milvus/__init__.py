"""The Milvus gallery backend (GUARDID_GALLERY_BACKEND=milvus): face vectors and finger codes
held by a Milvus server or cluster, kept in step with the database by one indexer.

The database stays the system of record and its change feed is the outbox
(``biometrics.feed``): the indexer (``indexer``) applies the feed to Milvus idempotently and
keeps its cursor (with the Milvus timestamp of the writes it covers) in the database; each
server's galleries (``gallery``) search Milvus as of that timestamp and, beside it, the feed's
tail the indexer has not applied yet.
"""
