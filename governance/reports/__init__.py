"""工作简报 and per-area statistics: PDF and Excel reports from the cockpit's own figures."""
