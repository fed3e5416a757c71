"""Configuration: the section types with every default (sections.py; the sinks take theirs
as built), the whole `Config` and the radio section (schema.py), config.toml -> Config
(load.py), TOML reading with located, secret-free errors (reader.py), secrets (secrets.py),
the one keys-file parser (keysfile.py), and Kamstrup KEM key files (kem.py)."""
