"""Sans-I/O wireless M-Bus decoding: bytes in, a Telegram out. No asyncio, no I/O here."""
