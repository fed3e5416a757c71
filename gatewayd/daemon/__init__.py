"""The running daemon: composition root (app.py), pipeline, publish policy, state, stats,
systemd notifications (notify.py) and logging."""
