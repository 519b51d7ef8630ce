"""Run every benchmark: python -m bench."""
from . import ingest

if __name__ == "__main__":
    ingest.main([])
