"""``quaymaster demo``: its steps and the context they share (``steps.py``)."""
