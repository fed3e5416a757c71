"""Key provisioning: Kamstrup KEM key files (kem.py) and keys.toml files (keysfile.py)."""
