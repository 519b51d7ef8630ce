"""The domain's ground floor: settings, time, area scope and roles, the taxonomy and five-step workflow, warning colours, datum, caches."""
