"""The demo's parts: its telegram recording (data.py), the live table, and the byte-exact radio
module simulators on a pty (sim.py, simpty.py), which the tests and benchmarks use too."""
