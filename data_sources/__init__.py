"""Feed connectors: one module per source, a shared normalise/locate/upsert pipeline."""
