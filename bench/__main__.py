"""Run every benchmark: python -m bench."""
from . import ingest, render

if __name__ == "__main__":
    ingest.main([])
    render.main([])
