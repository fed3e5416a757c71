"""Radio modules: framers (pure) and thin asyncio adapters around the one serial opener."""
