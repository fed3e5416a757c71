"""Configuration: the typed schema (schema.py), TOML reading with located errors (reader.py),
secrets and keys (secrets.py, keysfile.py), and Kamstrup KEM key files (kem.py)."""
