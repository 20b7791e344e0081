"""The system of record: settings, database, organisations, guards, certificates, audit,
encryption."""
